import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Integration tests start real replicas from the compiled output (`npm test` builds first).
export default function setup(): void {
  const entry = fileURLToPath(new URL('../dist/sample-app/src/main.js', import.meta.url));
  if (!existsSync(entry)) {
    console.warn(`[zerodrop tests] ${entry} is missing: run "npm run build" (npm test does it for you).`);
  }
}
