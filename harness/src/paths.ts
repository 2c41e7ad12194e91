/**
 * Where things are, whether we run from dist/ (the CLI) or from the TypeScript sources (vitest):
 * replicas and workers are always started from the compiled output under <root>/dist.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | null = null;

/** The directory holding zerodrop's package.json. */
export function projectRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'zerodrop') return (cachedRoot = dir);
      } catch {
        // keep walking up
      }
    }
    dir = resolve(dir, '..');
  }
  throw new Error('cannot find the zerodrop package root');
}

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
