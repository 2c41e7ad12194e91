/**
 * Writes in the load (load.writes): a fraction of the requests are `PUT /kv/<request id>` whose
 * body is derived from the id, so the read-back can compare every acknowledged write byte for
 * byte without the driver keeping the bodies. Which request is a write follows from the mix
 * alone (request seq → template, http1.ts buildMix), so the ledger needs no column for it.
 */
import { buildMix } from './http1.js';
import type { RequestTemplate } from './types.js';

/** Where writes go: the key (the request id) is appended. */
export const WRITE_PATH_PREFIX = '/kv/';

/** The exact bytes a write of request `id` stores (and the read-back expects). */
export function writeValue(id: string): string {
  return `zerodrop write ${id}\n`;
}

/** The PUT template of load.writes: weight = the fraction of requests that write. */
export function writeTemplate(fraction: number): RequestTemplate {
  return { method: 'PUT', path: WRITE_PATH_PREFIX, headers: {}, body: null, weight: fraction, keyedWrite: true };
}

/**
 * The read templates scaled to 1 − fraction of the mix, plus the write template; the templates
 * unchanged when fraction is 0.
 */
export function withWrites(reads: readonly RequestTemplate[], fraction: number): RequestTemplate[] {
  if (!(fraction > 0)) return [...reads];
  const total = reads.reduce((a, r) => a + r.weight, 0);
  const scaled = reads.map((r) => ({ ...r, weight: total > 0 ? (r.weight / total) * (1 - fraction) : 0 }));
  return [...scaled, writeTemplate(fraction)];
}

/** seq → is it a write, for a run's request templates (the driver's own mix). */
export function writeSeqPredicate(requests: readonly RequestTemplate[]): (seq: number) => boolean {
  if (!requests.some((r) => r.keyedWrite === true)) return () => false;
  const mix = buildMix(requests.map((r) => r.weight));
  const isWrite = Array.from(mix, (i) => requests[i]?.keyedWrite === true);
  return (seq) => isWrite[seq % isWrite.length] === true;
}
