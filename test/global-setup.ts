import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isCi, probeRequirements, requirementsOutcome } from './requirements.js';

// Integration tests start real replicas from the compiled output (`npm test` builds first).
// Missing real parts (Prometheus, HAProxy, Docker) fail the run on CI and are listed as skips
// elsewhere, once before the tests and again after vitest's summary (test/requirements.ts).
export default async function setup(): Promise<(() => void) | undefined> {
  const entry = fileURLToPath(new URL('../dist/sample-app/src/main.js', import.meta.url));
  if (!existsSync(entry)) {
    console.warn(`[zerodrop tests] ${entry} is missing: run "npm run build" (npm test does it for you).`);
  }
  const outcome = requirementsOutcome(await probeRequirements(), isCi());
  if (outcome.error !== null) throw new Error(outcome.error);
  if (outcome.skipped.length === 0) return undefined;
  const print = (): void => {
    for (const line of outcome.skipped) console.warn(`[zerodrop tests] ${line}`);
  };
  print();
  return print;
}
