/**
 * Where things are, whether we run from dist/ (the CLI) or from the TypeScript sources (vitest):
 * replicas and workers are always started from the compiled output under <root>/dist.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../common/src/package-root.js';

/** The directory holding zerodrop's package.json. */
export const projectRoot = packageRoot;

/** A compiled file under dist/, e.g. distFile('sample-app/src/main.js'). */
export function distFile(relative: string): string {
  return join(projectRoot(), 'dist', relative);
}

export function sampleAppEntry(): string {
  return distFile('sample-app/src/main.js');
}

export function toolVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}
