/**
 * The read-back phase (load.writes): after the load, every write of the run is read back through
 * the data plane, as a client would, and compared byte for byte with what was written
 * (writes.ts writeValue). Acknowledged writes must all be there; writes whose answer failed are
 * probed too (a write may land and its answer be lost: reported apart, never as durable); and
 * the store's key listing (GET /kv/, when the service has one) shows anything readable that no
 * write of the run put there (phantoms).
 *
 * Runs after every counter of the proof was read (the proxy's, the replicas', Prometheus'): its
 * requests are not load and must not enter the equalities. A read that errors (not a 200, not a
 * 404) is tried again, up to READ_TRIES, and stays "unread" if it never answers: an unanswered
 * read is missing evidence (INVALID), not a lost write.
 */
import http from 'node:http';
import { monotonicMs } from '../../../common/src/clock.js';
import { errorMessage } from '../../../common/src/errors.js';
import type { LedgerData } from '../driver/ledger.js';
import { Outcome } from '../driver/types.js';
import { WRITE_PATH_PREFIX, writeValue } from '../driver/writes.js';
import { requestDeadline } from '../../../common/src/http-deadline.js';

/** What the read-back found for one ledger row (index = request seq). */
export const ReadBack = {
  NotAWrite: 0,
  /** Acknowledged, read back with its exact bytes. */
  Durable: 1,
  /** Acknowledged, 404 on read-back. */
  Missing: 2,
  /** Acknowledged, read back with other bytes. */
  Corrupt: 3,
  /** The read-back never got an answer (evidence missing). */
  Unread: 4,
  /** Not acknowledged, and not there (as its client was told). */
  NotLanded: 5,
  /** Not acknowledged, but there with its exact bytes: it landed and its answer was lost. */
  Landed: 6,
} as const;

export interface ReadBackEvidence {
  /** Monotonic ms. */
  startedAtMs: number;
  endedAtMs: number;
  /** One entry per ledger row (ReadBack values). */
  rows: Uint8Array;
  /** Keys the store listed (union over `listTimes` listings), or null when it has no listing. */
  listed: string[] | null;
  /** Why the listing is null, when it is. */
  listNote: string | null;
  /** HTTP requests the phase made. */
  requests: number;
}

export interface ReadBackOptions {
  /** The data plane, e.g. http://127.0.0.1:PORT. */
  url: string;
  ledger: LedgerData;
  isWrite: (seq: number) => boolean;
  /** Extra request headers (the bearer token when the Deployment has one). */
  headers?: Record<string, string>;
  concurrency?: number;
  timeoutMs?: number;
  /** How many listings to union (one per replica reaches every zone's volume with perZone). */
  listTimes?: number;
}

export const READ_TRIES = 3;

interface Answer {
  status: number;
  body: Buffer;
}

export async function readBack(options: ReadBackOptions): Promise<ReadBackEvidence> {
  const { ledger, isWrite } = options;
  const startedAtMs = monotonicMs();
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency ?? 32 });
  const timeoutMs = options.timeoutMs ?? 5000;
  let requests = 0;
  // A deadline for the whole request, body included; the key listing may be long: it gets six.
  const get = (path: string, deadlineMs = timeoutMs): Promise<Answer> =>
    new Promise((resolve, reject) => {
      requests++;
      const req = http.get(`${options.url}${path}`, { agent, headers: options.headers ?? {} }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      requestDeadline(req, deadlineMs, () => new Error(`no answer in ${deadlineMs} ms`));
      req.on('error', reject);
    });

  const rows = new Uint8Array(ledger.length);
  const seqs: number[] = [];
  for (let seq = 0; seq < ledger.length; seq++) if (isWrite(seq)) seqs.push(seq);

  const readOne = async (seq: number): Promise<void> => {
    const id = `${ledger.runId}-${seq}`;
    const acked = ledger.outcome[seq] === Outcome.Ok;
    const expected = Buffer.from(writeValue(id), 'latin1');
    for (let attempt = 1; attempt <= READ_TRIES; attempt++) {
      let a: Answer;
      try {
        a = await get(`${WRITE_PATH_PREFIX}${id}`);
      } catch {
        continue;
      }
      if (a.status === 404) {
        rows[seq] = acked ? ReadBack.Missing : ReadBack.NotLanded;
        return;
      }
      if (a.status === 200) {
        const same = a.body.equals(expected);
        rows[seq] = acked ? (same ? ReadBack.Durable : ReadBack.Corrupt) : same ? ReadBack.Landed : ReadBack.NotLanded;
        return;
      }
    }
    rows[seq] = ReadBack.Unread;
  };

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < seqs.length) await readOne(seqs[next++]!);
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 32, Math.max(1, seqs.length)) }, worker));
    let listed: string[] | null = null;
    let listNote: string | null = null;
    const keys = new Set<string>();
    for (let i = 0; i < Math.max(1, options.listTimes ?? 1); i++) {
      let a: Answer;
      try {
        a = await get(WRITE_PATH_PREFIX, timeoutMs * 6);
      } catch (err) {
        listNote = `the key listing (GET ${WRITE_PATH_PREFIX}) did not answer: ${errorMessage(err)}`;
        break;
      }
      if (a.status !== 200) {
        listNote = `the service has no key listing (GET ${WRITE_PATH_PREFIX} answered ${a.status}): only the run's own writes were probed`;
        break;
      }
      for (const k of a.body.toString('utf8').split('\n')) if (k !== '') keys.add(k);
    }
    if (listNote === null) listed = [...keys];
    return { startedAtMs, endedAtMs: monotonicMs(), rows, listed, listNote, requests };
  } finally {
    agent.destroy();
  }
}
