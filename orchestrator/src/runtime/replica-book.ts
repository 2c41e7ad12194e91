/**
 * The replica bookkeeping both real runtimes keep (process.ts, docker.ts): the replicas by id,
 * their last log lines, how an exit is classified from what we asked (SIGKILL sent: killed;
 * SIGTERM sent: graceful; neither: crashed), the exit listeners, and the Runtime port's reads
 * (inspect, logs, onExit).
 */
import { monotonicMs } from '../../../common/src/clock.js';
import { ZerodropError } from '../../../common/src/errors.js';
import type { ExitKind, ReplicaExit, ReplicaInspect, ReplicaLaunch } from './types.js';

export const LOG_LINES_KEPT = 200;

/** What every runtime records of a replica; each runtime adds its own handles (child, container). */
export interface BookedReplica {
  launch: ReplicaLaunch;
  logs: string[];
  paused: boolean;
  /** We asked it to stop (SIGTERM): an exit now is graceful, unless we also had to send SIGKILL. */
  stopRequested: boolean;
  /** We sent SIGKILL: the exit is "killed". */
  killSent: boolean;
  exit: ReplicaExit | null;
  exited: Promise<ReplicaExit>;
  resolveExit: (exit: ReplicaExit) => void;
}

/** The bookkeeping of a replica just started: no logs, running, nothing asked, not exited. */
export function freshBookkeeping(launch: ReplicaLaunch): BookedReplica {
  let resolveExit!: (exit: ReplicaExit) => void;
  const exited = new Promise<ReplicaExit>((resolve) => (resolveExit = resolve));
  return { launch, logs: [], paused: false, stopRequested: false, killSent: false, exit: null, exited, resolveExit };
}

/** Appends a log line, keeping the last LOG_LINES_KEPT. */
export function keepLogLine(logs: string[], line: string): void {
  logs.push(line);
  if (logs.length > LOG_LINES_KEPT) logs.splice(0, logs.length - LOG_LINES_KEPT);
}

export class ReplicaBook<R extends BookedReplica> {
  private readonly replicas = new Map<string, R>();
  private readonly exitListeners = new Set<(exit: ReplicaExit) => void>();

  add(replica: R): R {
    this.replicas.set(replica.launch.replicaId, replica);
    return replica;
  }

  has(replicaId: string): boolean {
    return this.replicas.has(replicaId);
  }

  get(replicaId: string): R {
    const replica = this.replicas.get(replicaId);
    if (!replica) throw new ZerodropError('ZD_REPLICA_NOT_FOUND', `no replica ${replicaId} in this runtime`);
    return replica;
  }

  ids(): string[] {
    return [...this.replicas.keys()];
  }

  all(): R[] {
    return [...this.replicas.values()];
  }

  /** Replicas that have not exited. */
  live(): R[] {
    return this.all().filter((r) => !r.exit);
  }

  inspect(replicaId: string, handles: { pid: number | null; containerId: string | null }): ReplicaInspect {
    const replica = this.get(replicaId);
    return {
      replicaId,
      state: replica.exit ? 'exited' : replica.paused ? 'paused' : 'running',
      pid: handles.pid,
      containerId: handles.containerId,
      exit: replica.exit,
    };
  }

  logs(replicaId: string, tail: number): string[] {
    const replica = this.replicas.get(replicaId);
    return replica ? replica.logs.slice(-tail) : [];
  }

  onExit(listener: (exit: ReplicaExit) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  /**
   * Records the exit once: classified from what we asked (`crashed` forces crashed even after a
   * SIGTERM, e.g. an OOM kill), `exited` resolved, every listener told.
   */
  recordExit(replica: R, code: number | null, signal: string | null, crashed = false): ReplicaExit {
    if (replica.exit) return replica.exit;
    const kind: ExitKind = replica.killSent ? 'killed' : replica.stopRequested && !crashed ? 'graceful' : 'crashed';
    const exit: ReplicaExit = { replicaId: replica.launch.replicaId, kind, code, signal, atMs: monotonicMs() };
    replica.exit = exit;
    replica.resolveExit(exit);
    for (const listener of this.exitListeners) listener(exit);
    return exit;
  }
}
