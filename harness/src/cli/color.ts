/**
 * Colour only on a terminal, never with NO_COLOR (no-color.org: any non-empty value), and
 * FORCE_COLOR (any value but "0"/"false") for a CI log that renders ANSI. NO_COLOR wins.
 */
export function colorEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  const force = env['FORCE_COLOR'];
  if (force !== undefined && force !== '0' && force !== 'false') return true;
  return stream.isTTY === true && env['TERM'] !== 'dumb';
}
