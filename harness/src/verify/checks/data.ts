/**
 * The data checks (load.writes + deployment.volume): every acknowledged write survived the
 * rollout and the zone failure, byte for byte, and nothing is readable that no write of the run
 * acknowledged. Pure functions of plain data (the read-back's per-row findings, the store's key
 * listing, the step windows), so the verifier only wires them in.
 *
 *   data.acknowledged-writes-durable   acknowledged writes missing or changed on read-back = 0
 *                                      (INVALID when some could not be read at all, or none was acknowledged)
 *   data.no-phantom-writes             keys the store lists that no write of the run sent = 0;
 *                                      writes that failed for their client but landed are counted
 *                                      apart (an answer may be lost after the write), never as durable
 */
import type { Check } from '../../result/types.js';
import { READ_TRIES, ReadBack } from '../../run/read-back.js';
import { check, type CheckModule } from '../check.js';

/** The module (registry.ts): the checks run when the run wrote (load.writes). */
export const dataCheckModule: CheckModule = {
  name: 'data',
  ids: ['data.acknowledged-writes-durable', 'data.no-phantom-writes'],
  checks: (run) => (run.data ? dataChecks(run.data) : []),
};

const SAMPLE = 20;

export interface DataInput {
  runId: string;
  /** Read-back finding per ledger row (ReadBack values; NotAWrite for reads). */
  rows: Uint8Array;
  /** Intended send time of each row, ms from the run's origin (for the step windows). */
  intendedMs: (seq: number) => number;
  /** Keys the store listed, or null (no listing). */
  listed: string[] | null;
  listNote: string | null;
  readBack: { startedMs: number; endedMs: number; requests: number };
  /** Windows to count writes in: each timeline step, from its start to its end. */
  windows: { label: string; fromMs: number; toMs: number }[];
  /** deployment.volume.perZone (what a zone's data does while the zone is down is in the windows). */
  perZone: boolean;
}

export interface DataWindow {
  label: string;
  fromMs: number;
  toMs: number;
  writes: number;
  acknowledged: number;
  durable: number;
  lost: number;
  landedUnacknowledged: number;
}

export interface DataResult {
  writes: number;
  acknowledged: number;
  durable: number;
  /** Acknowledged and 404 on read-back. */
  missing: number;
  /** Acknowledged and read back with other bytes. */
  corrupt: number;
  /** Acknowledged or not, never answered on read-back. */
  unread: number;
  /** Not acknowledged (failed or lost for the client: the ledger's failures). */
  unacknowledged: number;
  /** Not acknowledged, yet there with their exact bytes. */
  landedUnacknowledged: number;
  phantom: number;
  listed: number | null;
  listNote: string | null;
  perZone: boolean;
  samples: { lost: string[]; phantom: string[]; landed: string[] };
  readBack: { startedMs: number; endedMs: number; requests: number };
  windows: DataWindow[];
}

export function summarizeData(input: DataInput): DataResult {
  const { rows, runId } = input;
  const count = new Array<number>(7).fill(0);
  const lost: string[] = [];
  const landed: string[] = [];
  const idOf = (seq: number): string => `${runId}-${seq}`;
  for (let seq = 0; seq < rows.length; seq++) {
    const r = rows[seq]!;
    count[r]!++;
    if ((r === ReadBack.Missing || r === ReadBack.Corrupt) && lost.length < SAMPLE) lost.push(idOf(seq));
  }
  // The listing: a key of a failed write means it landed (perZone: the probe may have hit another zone);
  // a key no write of the run sent is a phantom.
  const phantomKeys: string[] = [];
  const prefix = `${runId}-`;
  let landedByListing = 0;
  for (const key of input.listed ?? []) {
    const seq = key.startsWith(prefix) && /^\d{1,15}$/.test(key.slice(prefix.length)) ? Number(key.slice(prefix.length)) : -1;
    const r = seq >= 0 && seq < rows.length ? rows[seq]! : ReadBack.NotAWrite;
    if (r === ReadBack.NotAWrite) phantomKeys.push(key);
    else if (r === ReadBack.NotLanded) {
      rows[seq] = ReadBack.Landed;
      landedByListing++;
    }
  }
  count[ReadBack.NotLanded]! -= landedByListing;
  count[ReadBack.Landed]! += landedByListing;
  for (let seq = 0; seq < rows.length && landed.length < SAMPLE; seq++) if (rows[seq] === ReadBack.Landed) landed.push(idOf(seq));

  const windows = input.windows.map((w): DataWindow => {
    const win: DataWindow = { ...w, writes: 0, acknowledged: 0, durable: 0, lost: 0, landedUnacknowledged: 0 };
    for (let seq = 0; seq < rows.length; seq++) {
      const r = rows[seq]!;
      if (r === ReadBack.NotAWrite) continue;
      const t = input.intendedMs(seq);
      if (t < w.fromMs || t > w.toMs) continue;
      win.writes++;
      if (r === ReadBack.Durable || r === ReadBack.Missing || r === ReadBack.Corrupt) win.acknowledged++;
      if (r === ReadBack.Durable) win.durable++;
      if (r === ReadBack.Missing || r === ReadBack.Corrupt) win.lost++;
      if (r === ReadBack.Landed) win.landedUnacknowledged++;
    }
    return win;
  });
  const writes = rows.length - count[ReadBack.NotAWrite]!;
  return {
    writes,
    acknowledged: count[ReadBack.Durable]! + count[ReadBack.Missing]! + count[ReadBack.Corrupt]!,
    durable: count[ReadBack.Durable]!,
    missing: count[ReadBack.Missing]!,
    corrupt: count[ReadBack.Corrupt]!,
    unread: count[ReadBack.Unread]!,
    unacknowledged: count[ReadBack.NotLanded]! + count[ReadBack.Landed]!,
    landedUnacknowledged: count[ReadBack.Landed]!,
    phantom: phantomKeys.length,
    listed: input.listed === null ? null : input.listed.length,
    listNote: input.listNote,
    perZone: input.perZone,
    samples: { lost, phantom: phantomKeys.slice(0, SAMPLE), landed },
    readBack: input.readBack,
    windows,
  };
}

export function dataChecks(d: DataResult): Check[] {
  const lost = d.missing + d.corrupt;
  const durableWhy =
    lost > 0
      ? `a 2xx was sent for writes that are gone (e.g. ${d.samples.lost.slice(0, 3).join(', ')}): acknowledged before they were on the shared volume (fsync before the answer), or stored where the next replica cannot see them`
      : d.unread > 0
        ? `the read-back got no answer for ${d.unread} write(s) after ${READ_TRIES} tries: the evidence is missing (not a lost write)`
        : d.acknowledged === 0
          ? 'no write was acknowledged: there is nothing to prove durable (see the ledger checks)'
          : undefined;
  return [
    check({
      id: 'data.acknowledged-writes-durable',
      group: 'data',
      title: 'Every acknowledged write is readable, byte for byte, after the rollout and the zone failure',
      status: lost > 0 ? 'fail' : d.unread > 0 || d.acknowledged === 0 ? 'invalid' : 'pass',
      expected: 'acknowledged writes missing or changed on read-back = 0',
      actual: `${d.durable} of ${d.acknowledged} acknowledged writes read back intact; ${d.missing} missing, ${d.corrupt} changed${d.unread > 0 ? `, ${d.unread} could not be read` : ''}`,
      numbers: { writes: d.writes, acknowledged: d.acknowledged, durable: d.durable, missing: d.missing, corrupt: d.corrupt, unread: d.unread },
      broken: `${lost} acknowledged write(s) lost`,
      explanation: durableWhy,
    }),
    check({
      id: 'data.no-phantom-writes',
      group: 'data',
      title: 'Nothing is readable that no write of the run put there',
      status: d.listed === null ? 'skip' : d.phantom > 0 ? 'fail' : 'pass',
      expected: 'keys stored that no write of the run sent = 0 (writes that failed for their client but landed are counted apart)',
      actual:
        d.listed === null
          ? (d.listNote ?? 'no key listing')
          : `${d.phantom} phantom key(s) among ${d.listed} stored; ${d.landedUnacknowledged} of ${d.unacknowledged} unacknowledged write(s) landed anyway (their answer was lost)`,
      numbers: { listed: d.listed ?? 0, phantom: d.phantom, unacknowledged: d.unacknowledged, landedUnacknowledged: d.landedUnacknowledged },
      broken: `${d.phantom} phantom key(s)`,
      explanation:
        d.phantom > 0
          ? `the store holds keys no write of this run sent (e.g. ${d.samples.phantom.slice(0, 3).join(', ')}): the volume was not the run's own, or the service invents data`
          : undefined,
    }),
  ];
}
