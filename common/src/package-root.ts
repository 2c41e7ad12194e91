/**
 * Where zerodrop is installed, whether the code runs from dist/ (the CLI) or from the TypeScript
 * sources (vitest): the directory holding the package.json named "zerodrop".
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ZerodropError } from './errors.js';

let cachedRoot: string | null = null;

export function packageRoot(): string {
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
  throw new ZerodropError('ZD_INTERNAL', 'cannot find the zerodrop package root (package.json named "zerodrop")');
}
