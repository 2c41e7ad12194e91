/**
 * Prometheus file-based service discovery (file_sd) for replicas that come and go.
 *
 * Prometheus watches the file (inotify) and applies "only changes resulting in well-formed target
 * groups" (prometheus/prometheus@v2.42.0 docs/configuration/configuration.md, <file_sd_config>).
 * Every write is atomic — a temp file in the same directory, then rename(2) — so Prometheus never
 * reads half a file. The format is the documented JSON list of target groups:
 *
 *   [{ "targets": ["127.0.0.1:40123"], "labels": { "replica": "...", "zone": "a", ... } }]
 *
 * One group per replica, labelled replica, zone, version and run_id (target labels, so the
 * replica itself need not know them). A retired replica stays in the file until its final counters
 * were read after it drained (the `replica.final-counts` event): Prometheus keeps scraping it while
 * it drains, and the orchestrator's final read is the exact number
 * (zerodrop_orchestrator_replica_final_responses). Killed and crashed replicas have no final read:
 * they leave the file when they exit. Only loopback targets are ever written.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ReplicaRecord } from './controller.js';
import type { HostPort } from './runtime/types.js';
import type { TimelineEvent } from './timeline.js';

/** One target group of a file_sd file. Labels starting with `__` are meta labels (e.g. `__metrics_path__`). */
export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

let tmpSeq = 0;

/** Writes target groups atomically (temp file + rename in the same directory). Skips nothing: callers dedupe. */
export function writeTargetGroups(file: string, groups: readonly TargetGroup[]): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${++tmpSeq}.tmp`;
  try {
    writeFileSync(tmp, `${JSON.stringify(groups, null, 2)}\n`);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** 127.0.0.0/8, ::1 and localhost. Containers publish on 127.0.0.1, so this is every target we make. */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return m !== null && m.slice(1).every((o) => Number(o) <= 255);
}

/** host:port as Prometheus wants it (IPv6 in brackets). */
export function targetAddress(hp: HostPort): string {
  return hp.host.includes(':') && !hp.host.startsWith('[') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

/** What the writer needs from the DeploymentController (it is one). */
export interface ReplicaSource {
  readonly allReplicas: readonly ReplicaRecord[];
  readonly timeline: readonly TimelineEvent[];
  on(event: 'event', listener: (e: TimelineEvent) => void): unknown;
  off(event: 'event', listener: (e: TimelineEvent) => void): unknown;
}

export interface ReplicaFileSdOptions {
  /** The file_sd file to maintain (JSON). */
  file: string;
  runId: string;
  /** The replicas' metrics path (template.metricsPath); null = the service has none, the file stays empty. */
  metricsPath: string | null;
  /**
   * Whether the controller reads final counters of drained replicas (it does when it has a
   * CounterReader and a metricsPath). If not, a drained replica leaves the file when it exits.
   */
  finalReads?: boolean;
  /** A drained replica whose final read never comes leaves the file this long after it exited. Default 10 s. */
  finalReadTimeoutMs?: number;
  log?: (line: string) => void;
}

/**
 * Keeps a file_sd file in step with the controller's replicas:
 *   replica.started      → added (its admin endpoint if it has one: it stays up while draining)
 *   replica.final-counts → removed (the drained replica was read; nothing more to scrape)
 *   replica.terminated   → removed, unless it is draining and its final read is still to come
 */
export class ReplicaFileSd {
  private readonly options: Required<Omit<ReplicaFileSdOptions, 'log'>> & { log: (line: string) => void };
  private readonly finalRead = new Set<string>();
  private readonly draining = new Set<string>();
  private readonly exitedAt = new Map<string, number>();
  private readonly listener = (e: TimelineEvent): void => this.onEvent(e);
  private lastWritten: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly skipped = new Set<string>();
  /** Number of times the file was (re)written. */
  writes = 0;

  constructor(
    private readonly source: ReplicaSource,
    options: ReplicaFileSdOptions,
  ) {
    this.options = {
      finalReads: true,
      finalReadTimeoutMs: 10_000,
      ...options,
      log: options.log ?? (() => undefined),
    };
  }

  get file(): string {
    return this.options.file;
  }

  /** Writes the current set (possibly empty) and follows the controller's events. */
  start(): this {
    for (const e of this.source.timeline) this.note(e);
    this.source.on('event', this.listener);
    this.sync();
    return this;
  }

  /** The target groups that belong in the file now. */
  targetGroups(): TargetGroup[] {
    const path = this.options.metricsPath;
    if (path === null) return [];
    const now = Date.now();
    const groups: TargetGroup[] = [];
    for (const r of this.source.allReplicas) {
      const started = r.started;
      if (!started) continue;
      if (!this.wanted(r, now)) continue;
      const hp = started.adminEndpoint ?? started.endpoint;
      // Loopback, or the bridge address of a container this run created (docker endpoint mode
      // "container"): never anything else.
      if (!isLoopbackHost(hp.host) && started.containerId === null) {
        if (!this.skipped.has(r.id)) {
          this.skipped.add(r.id);
          this.options.log(`file_sd: replica ${r.id} listens on ${hp.host}, neither loopback nor a container of this run: not handed to Prometheus`);
        }
        continue;
      }
      const labels: Record<string, string> = { replica: r.id, zone: r.zone, version: r.version, run_id: this.options.runId };
      if (path !== '/metrics') labels['__metrics_path__'] = path;
      groups.push({ targets: [targetAddress(hp)], labels });
    }
    groups.sort((a, b) => (a.labels['replica'] ?? '').localeCompare(b.labels['replica'] ?? ''));
    return groups;
  }

  /** Rewrites the file if its content changed. */
  sync(): void {
    if (this.closed) return;
    const groups = this.targetGroups();
    const text = JSON.stringify(groups);
    if (text === this.lastWritten) return;
    writeTargetGroups(this.options.file, groups);
    this.lastWritten = text;
    this.writes++;
  }

  /** Stops following the controller; `remove` deletes the file (its targets disappear from Prometheus). */
  close(options: { remove?: boolean } = {}): void {
    if (this.closed) return;
    this.closed = true;
    this.source.off('event', this.listener);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (options.remove) rmSync(this.options.file, { force: true });
  }

  private wanted(r: ReplicaRecord, now: number): boolean {
    if (this.finalRead.has(r.id)) return false;
    const exited = this.exitedAt.get(r.id);
    if (exited === undefined && r.exit === null) return true;
    // Gone. A drained replica waits for its final read (the read happens after the drain; it may
    // come after the exit when preStop is shorter than the routing lag): keep it until then.
    if (!this.options.finalReads || !this.draining.has(r.id)) return false;
    return now - (exited ?? now) < this.options.finalReadTimeoutMs;
  }

  private note(e: TimelineEvent): void {
    switch (e.type) {
      case 'replica.draining':
        this.draining.add(e.replica);
        break;
      case 'replica.final-counts':
        this.finalRead.add(e.replica);
        break;
      case 'replica.terminated':
      case 'replica.start-failed':
        this.exitedAt.set(e.replica, Date.now());
        break;
      default:
        break;
    }
  }

  /** Every event re-derives the set (cheap, deduplicated): a replica that died with its zone has no event of its own. */
  private onEvent(e: TimelineEvent): void {
    this.note(e);
    if (this.closed) return;
    try {
      this.sync();
    } catch (err) {
      this.options.log(`file_sd: cannot write ${this.options.file}: ${err instanceof Error ? err.message : String(err)}`);
    }
    // A drained replica that exited before its final read: re-check once its timeout has passed.
    if (e.type === 'replica.terminated' && this.draining.has(e.replica) && !this.finalRead.has(e.replica) && this.options.finalReads) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        this.timer = null;
        try {
          this.sync();
        } catch {
          // reported on the next event
        }
      }, this.options.finalReadTimeoutMs + 10);
      this.timer.unref();
    }
  }
}
