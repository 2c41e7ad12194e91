/**
 * The per-request ledger: one row per request the driver sent, column-oriented in typed arrays
 * so that 1.2 M requests fit in ~26 MB (22 bytes a row). The engine writes rows; the verifier
 * reads them. Request ids are `<runId>-<seq>`; seq is the row index.
 *
 * Columns
 *   intended   Float64  monotonic ms the request was scheduled for (open model) or sent (closed)
 *   sendLagUs  Uint32   µs between intended and actual write
 *   latencyUs  Uint32   µs from intended send to the end of the response (or the failure)
 *   status     Uint16   HTTP status, 0 if none
 *   replica    Uint16   index into `replicas` (x-served-by / x-zerodrop-upstream), 0 = unknown
 *   outcome    Uint8    Outcome
 *   attempts   Uint8    proxy attempts (x-zerodrop-attempts), 1 unless retried
 */
import { Outcome } from './types.js';

const BYTES_PER_ROW = 8 + 4 + 4 + 2 + 2 + 1 + 1;
const MAX_U32 = 0xffff_ffff;

export interface LedgerColumns {
  intended: Float64Array;
  sendLagUs: Uint32Array;
  latencyUs: Uint32Array;
  status: Uint16Array;
  replica: Uint16Array;
  outcome: Uint8Array;
  attempts: Uint8Array;
}

/** A transferable snapshot of a ledger (posted from the driver worker, written to disk). */
export interface LedgerData extends LedgerColumns {
  runId: string;
  length: number;
  /** Index 0 is "unknown". */
  replicas: string[];
}

export class Ledger {
  readonly runId: string;
  private cols: LedgerColumns;
  private capacity: number;
  private size = 0;
  private readonly replicaIndex = new Map<string, number>();
  private readonly replicaNames: string[] = [''];

  constructor(runId: string, expectedRows = 1024) {
    this.runId = runId;
    this.capacity = Math.max(16, expectedRows);
    this.cols = allocate(this.capacity);
  }

  static fromData(data: LedgerData): Ledger {
    // Small initial allocation: the columns are replaced right away (was: data.length rows, i.e.
    // 26 MB allocated and thrown away for a 1.2 M-row ledger).
    const ledger = new Ledger(data.runId, 16);
    ledger.cols = {
      intended: data.intended,
      sendLagUs: data.sendLagUs,
      latencyUs: data.latencyUs,
      status: data.status,
      replica: data.replica,
      outcome: data.outcome,
      attempts: data.attempts,
    };
    ledger.capacity = data.intended.length;
    ledger.size = data.length;
    data.replicas.forEach((name, i) => {
      if (i > 0) {
        ledger.replicaIndex.set(name, i);
        ledger.replicaNames.push(name);
      }
    });
    return ledger;
  }

  get length(): number {
    return this.size;
  }

  get columns(): Readonly<LedgerColumns> {
    return this.cols;
  }

  get replicas(): readonly string[] {
    return this.replicaNames;
  }

  /** Bytes held by the columns (capacity, not just rows in use). */
  get bytes(): number {
    return this.capacity * BYTES_PER_ROW;
  }

  requestId(seq: number): string {
    return `${this.runId}-${seq}`;
  }

  /** Appends a pending row and returns its seq. */
  add(intendedMs: number): number {
    if (this.size === this.capacity) this.grow();
    const seq = this.size++;
    this.cols.intended[seq] = intendedMs;
    this.cols.outcome[seq] = Outcome.Pending;
    this.cols.attempts[seq] = 1;
    return seq;
  }

  /** Records the actual write; returns the stored send lag in µs (added: was void). */
  markSent(seq: number, actualMs: number): number {
    const lag = clampU32((actualMs - (this.cols.intended[seq] ?? actualMs)) * 1000);
    this.cols.sendLagUs[seq] = lag;
    return lag;
  }

  /**
   * Records the end of a request. Only the first call for a row counts (a row ends once).
   * Returns true if this call ended the row (added: was void).
   */
  complete(seq: number, endMs: number, outcome: Outcome, status: number, replica: string | null, attempts = 1): boolean {
    return this.completeIdx(seq, endMs, outcome, status, replica === null ? 0 : this.internReplica(replica), attempts);
  }

  /**
   * complete() with an already interned replica index (added for the engines' hot path: no
   * string per response). Returns true if this call ended the row.
   */
  completeIdx(seq: number, endMs: number, outcome: Outcome, status: number, replicaIdx: number, attempts = 1): boolean {
    const c = this.cols;
    if (seq < 0 || seq >= this.size || c.outcome[seq] !== Outcome.Pending) return false;
    c.outcome[seq] = outcome;
    c.status[seq] = status;
    c.latencyUs[seq] = clampU32((endMs - (c.intended[seq] ?? endMs)) * 1000);
    c.replica[seq] = replicaIdx;
    c.attempts[seq] = attempts < 1 ? 1 : attempts > 255 ? 255 : attempts;
    return true;
  }

  /** Latency recorded for a finished row (µs from its intended time). */
  latencyUsOf(seq: number): number {
    return this.cols.latencyUs[seq] ?? 0;
  }

  intendedOf(seq: number): number {
    return this.cols.intended[seq] ?? 0;
  }

  outcomeOf(seq: number): Outcome {
    return (this.cols.outcome[seq] ?? Outcome.Pending) as Outcome;
  }

  internReplica(name: string): number {
    let idx = this.replicaIndex.get(name);
    if (idx === undefined) {
      idx = this.replicaNames.length;
      if (idx > 0xffff) return 0;
      this.replicaNames.push(name);
      this.replicaIndex.set(name, idx);
    }
    return idx;
  }

  /** Marks every still-pending row as abandoned (end of run, after the final wait). */
  abandonPending(atMs: number): number {
    let n = 0;
    for (let i = 0; i < this.size; i++) {
      if (this.cols.outcome[i] === Outcome.Pending) {
        this.complete(i, atMs, Outcome.Abandoned, 0, null);
        n++;
      }
    }
    return n;
  }

  /** A trimmed copy of the columns, safe to transfer to another thread. */
  toData(): LedgerData {
    const n = this.size;
    return {
      runId: this.runId,
      length: n,
      replicas: [...this.replicaNames],
      intended: this.cols.intended.slice(0, n),
      sendLagUs: this.cols.sendLagUs.slice(0, n),
      latencyUs: this.cols.latencyUs.slice(0, n),
      status: this.cols.status.slice(0, n),
      replica: this.cols.replica.slice(0, n),
      outcome: this.cols.outcome.slice(0, n),
      attempts: this.cols.attempts.slice(0, n),
    };
  }

  /**
   * The columns as views of length `length` over the ledger's own buffers, without copying
   * (added: a 1.2 M-row ledger is 26 MB; toData() would copy it once more before the transfer).
   * The ledger must not be written after this; transferring the data detaches its buffers.
   */
  detachData(): LedgerData {
    const n = this.size;
    const c = this.cols;
    return {
      runId: this.runId,
      length: n,
      replicas: [...this.replicaNames],
      intended: c.intended.subarray(0, n),
      sendLagUs: c.sendLagUs.subarray(0, n),
      latencyUs: c.latencyUs.subarray(0, n),
      status: c.status.subarray(0, n),
      replica: c.replica.subarray(0, n),
      outcome: c.outcome.subarray(0, n),
      attempts: c.attempts.subarray(0, n),
    };
  }

  private grow(): void {
    const next = allocate(this.capacity * 2);
    next.intended.set(this.cols.intended);
    next.sendLagUs.set(this.cols.sendLagUs);
    next.latencyUs.set(this.cols.latencyUs);
    next.status.set(this.cols.status);
    next.replica.set(this.cols.replica);
    next.outcome.set(this.cols.outcome);
    next.attempts.set(this.cols.attempts);
    this.cols = next;
    this.capacity *= 2;
  }
}

export function ledgerTransferList(data: LedgerData): ArrayBuffer[] {
  return [
    data.intended.buffer,
    data.sendLagUs.buffer,
    data.latencyUs.buffer,
    data.status.buffer,
    data.replica.buffer,
    data.outcome.buffer,
    data.attempts.buffer,
  ] as ArrayBuffer[];
}

function allocate(n: number): LedgerColumns {
  return {
    intended: new Float64Array(n),
    sendLagUs: new Uint32Array(n),
    latencyUs: new Uint32Array(n),
    status: new Uint16Array(n),
    replica: new Uint16Array(n),
    outcome: new Uint8Array(n),
    attempts: new Uint8Array(n),
  };
}

function clampU32(v: number): number {
  if (!(v > 0)) return 0;
  return v > MAX_U32 ? MAX_U32 : Math.round(v);
}
