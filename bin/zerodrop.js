#!/usr/bin/env node
// Thin shim (the vitest/taze habit): the CLI lives in the compiled harness.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/harness/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('zerodrop: the build is missing (dist/). Run `npm run build` first (npm run demo does it for you).\n');
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
// Everything is torn down by now; if a handle still holds the loop open, do not hang a CI job.
setTimeout(() => {
  process.stderr.write('zerodrop: exiting with handles still open\n');
  process.exit(process.exitCode ?? 0);
}, 5000).unref();
