#!/usr/bin/env node
// Thin shim (the vitest/taze habit): the CLI lives in the compiled harness.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/harness/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('zerodrop: the build is missing (dist/). Run `npm run build` first (npm run demo does it for you).\n');
  process.exit(2);
}
const argv = process.argv.slice(2);
// run, demo and up: the harness as a session of its own, for its CPU rank (harness/src/cli/own-session.ts).
const { wantsOwnSession, runInOwnSession } = await import(new URL('../dist/harness/src/cli/own-session.js', import.meta.url).href);
if (wantsOwnSession(argv)) {
  process.exitCode = await runInOwnSession(fileURLToPath(import.meta.url), argv);
} else {
  const { main } = await import(entry.href);
  process.exitCode = await main(argv);
}
// Everything is torn down by now; if a handle still holds the loop open, do not hang a CI job.
setTimeout(() => {
  process.stderr.write('zerodrop: exiting with handles still open\n');
  process.exit(process.exitCode ?? 0);
}, 5000).unref();
