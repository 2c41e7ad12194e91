/**
 * (e) as rows: the ceiling search on one runtime, its sample in the bench's row shape, and the
 * runtimes to search on (--ceiling-runtime; by default docker beside process when an engine answers).
 */
import Docker from 'dockerode';
import { errorMessage } from '../../common/src/errors.js';
import type { RuntimeName } from '../../orchestrator/index.js';
import { type CeilingOptions, type CeilingResult, findCeiling } from './ceiling.js';
import { load1 } from './rows.js';
import type { CeilingRuntimes } from './options.js';
import { fmtInt, type Row } from './render.js';

/** The runtimes (e) runs on, and why docker is left out when it is. */
export async function ceilingRuntimes(wanted: CeilingRuntimes | null): Promise<{ runtimes: RuntimeName[]; dockerSkipped: string | null }> {
  if (wanted === 'process') return { runtimes: ['process'], dockerSkipped: '--ceiling-runtime process' };
  if (wanted === 'docker') return { runtimes: ['docker'], dockerSkipped: null };
  if (wanted === 'both') return { runtimes: ['process', 'docker'], dockerSkipped: null };
  const engine = await dockerAnswers();
  return engine === null
    ? { runtimes: ['process', 'docker'], dockerSkipped: null }
    : { runtimes: ['process'], dockerSkipped: `no Docker engine (${engine}): --ceiling-runtime docker to insist` };
}

/** null when the engine answers a ping within 3 s, else why not. */
async function dockerAnswers(): Promise<string | null> {
  try {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer within 3 s')), 3000)));
    await Promise.race([new Docker().ping(), timeout]).finally(() => clearTimeout(timer));
    return null;
  } catch (err) {
    return errorMessage(err).split('\n')[0] ?? 'unreachable';
  }
}

/** Runs the search into `row` (a sample, or row.error); returns the result for the probe list. */
export async function ceilingIntoRow(row: Row, o: CeilingOptions): Promise<CeilingResult | null> {
  try {
    const ceiling = await findCeiling(o);
    if (ceiling.probes.every((p) => p.verdict === 'ERROR')) throw new Error(`every probe broke: ${ceiling.probes[0]?.detail ?? ''}`);
    const at = ceiling.atCeiling;
    const bound =
      ceiling.bound === 'at-least'
        ? `≥ ${fmtInt(ceiling.ceiling)} (no probe failed)`
        : ceiling.bound === 'below'
          ? `< ${fmtInt(ceiling.firstFailing)} (no probe passed)`
          : `between ${fmtInt(ceiling.ceiling)} (PASS) and ${fmtInt(ceiling.firstFailing)} (not PASS)`;
    row.samples.push({
      rps: ceiling.ceiling,
      requests: at?.received ?? 0,
      genUs: null,
      midUs: at?.harnessCpuUsPerReq ?? null,
      repUs: at?.replicaCpuUsPerReq ?? null,
      errors: 0,
      p50ms: Number.NaN,
      p99ms: Number.NaN,
      load1: load1(),
      note: `${bound}; ${ceiling.probes.length} probes: ${ceiling.probes.map((p) => `${fmtInt(p.rate)} ${p.verdict}`).join(', ')}`,
    });
    return ceiling;
  } catch (err) {
    if (o.signal.aborted) return null;
    row.error = errorMessage(err);
    o.log(`${row.label}: could not measure: ${row.error}`);
    return null;
  }
}
