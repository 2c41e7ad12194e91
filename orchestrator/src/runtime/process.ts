/**
 * The embedded default runtime: every replica is a child process on a 127.0.0.1 port.
 *
 * - Port discovery: the replica announces `{"event":"listening","port":N,...}` on stdout, or the
 *   runtime picks a free port and passes it in an env var / "{port}" argument.
 * - Each replica is its own process group (signals from the terminal don't hit it; grandchildren
 *   are reachable) and is exec'd under `setpriv --pdeathsig SIGKILL` so it dies with us.
 * - stop = SIGTERM to the replica, SIGKILL to its group after the grace period (kubelet's
 *   sequence, pod-lifecycle.md#pod-termination). pause/resume = SIGSTOP/SIGCONT to the group:
 *   the kernel keeps accepting TCP connections into the backlog, nothing answers (a zone hang).
 */
import { DATA_DIR_ENV, reapOrphanedVolumes, type RunVolume } from './volumes.js';
import type { ChildProcess } from 'node:child_process';
import { ZerodropError } from '../../../common/src/errors.js';
import { monotonicMs } from '../../../common/src/clock.js';
import { execWithDeadline } from '../lifecycle/exec.js';
import type { ExecResult } from '../lifecycle/types.js';
import { replicaAutogroupNice, reniceProcess, type ReplicaPriorities } from './priorities.js';
import { ReplicaBook, freshBookkeeping, keepLogLine, type BookedReplica } from './replica-book.js';
import { ProcessGroupRegistry, reapOrphanedGroups } from './process-registry.js';
import { hasSetprivPdeathsig } from '../../../common/src/session.js';
import { freeLoopbackPort, parseAnnouncement, signalGroup, spawnInGroup, type Announcement } from './supervised-child.js';
import type { ReplicaExit, ReplicaInspect, ReplicaLaunch, Runtime, StartedReplica, StopOptions } from './types.js';

const LOOPBACK = '127.0.0.1';

interface ProcessReplica extends BookedReplica {
  /** The environment it was started with (a preStop exec runs in the same). */
  env: Record<string, string>;
  child: ChildProcess;
  pid: number;
  /** Given the serving CPU priority (becameReady). */
  serving: boolean;
}

export interface ProcessRuntimeOptions {
  /** Directory of the per-run process-group state files (tests use a temp dir). */
  stateDir?: string;
  /** Extra env for every replica (merged under the template's env). */
  baseEnv?: Record<string, string>;
  log?: (line: string) => void;
  /** deployment.volume: the run's host directory (per zone), handed to every replica (volumes.ts). */
  volume?: RunVolume;
  /** Nice values of a booting and of a serving replica (priorities.ts); absent: left as inherited. */
  priorities?: ReplicaPriorities;
}

export class ProcessRuntime implements Runtime {
  readonly name = 'process' as const;
  private readonly book = new ReplicaBook<ProcessReplica>();
  private registry: ProcessGroupRegistry | null = null;
  private readonly pdeathsig: boolean;

  constructor(private readonly options: ProcessRuntimeOptions = {}) {
    this.pdeathsig = hasSetprivPdeathsig();
  }

  async prepare(runId: string): Promise<void> {
    if (!this.pdeathsig) {
      // Said once per run, not silently: without it a SIGKILLed harness leaves its replicas
      // running until the next run's reaper finds them (process groups, below).
      this.options.log?.(
        'process runtime: setpriv --pdeathsig is not available (util-linux); replicas of a harness that is SIGKILLed survive until the next run reaps them (apt-get install -y util-linux)',
      );
    }
    reapOrphanedGroups(this.options.stateDir);
    this.registry ??= new ProcessGroupRegistry(runId, this.options.stateDir);
    if (this.options.volume) {
      reapOrphanedVolumes();
      this.options.volume.host.prepare();
    }
  }

  async start(launch: ReplicaLaunch): Promise<StartedReplica> {
    const { template } = launch;
    if (!template.command || template.command.length === 0) {
      throw new ZerodropError('ZD_BAD_SPEC', `replica ${launch.replicaId}: the template has no command`, {
        fix: 'set template.command (argv) for the process runtime, or use --runtime docker with template.image',
      });
    }
    if (this.book.has(launch.replicaId)) {
      throw new ZerodropError('ZD_INTERNAL', `replica ${launch.replicaId} already exists`);
    }
    if (!this.registry) await this.prepare(launch.runId);

    let envPort: number | null = null;
    if (template.port.mode === 'env') envPort = await freeLoopbackPort();
    const argv = template.command.map((a) => (envPort === null ? a : a.replaceAll('{port}', String(envPort))));
    const env: Record<string, string> = {
      ...pickEnv(process.env),
      ...this.options.baseEnv,
      ...template.env,
      ZERODROP_RUN_ID: launch.runId,
      REPLICA_ID: launch.replicaId,
      ZONE: launch.zone,
      APP_VERSION: template.version,
    };
    if (template.port.mode === 'env' && envPort !== null) env[template.port.envVar] = String(envPort);
    if (this.options.volume) env[DATA_DIR_ENV] = this.options.volume.host.hostDir(launch.zone);

    // Under pdeathsig (when this.pdeathsig), in its own process group.
    const child = spawnInGroup(argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const replica = this.track(launch, child, env);
    const startedAtMs = monotonicMs();

    if (template.port.mode === 'env' && envPort !== null) {
      // The port is known now; readiness probes tell when it is bound.
      return this.started(replica, { port: envPort, adminPort: null }, startedAtMs);
    }
    const announced = await this.waitForAnnouncement(replica, template.startTimeoutMs);
    return this.started(replica, announced, startedAtMs);
  }

  async stop(replicaId: string, { graceMs, signal }: StopOptions): Promise<ReplicaExit> {
    const replica = this.book.get(replicaId);
    if (replica.exit) return replica.exit;
    replica.stopRequested = true;
    if (replica.paused) this.signalGroup(replica, 'SIGCONT');
    this.signalMain(replica, signal ?? 'SIGTERM');
    const timer = setTimeout(() => this.sendKill(replica), Math.max(0, graceMs));
    try {
      return await replica.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** A preStop exec hook: argv with the replica's own environment, in its own process group. */
  async exec(replicaId: string, command: string[], timeoutMs: number): Promise<ExecResult> {
    const replica = this.book.get(replicaId);
    return execWithDeadline(command, { env: replica.env, timeoutMs });
  }

  async kill(replicaId: string): Promise<ReplicaExit> {
    const replica = this.book.get(replicaId);
    if (replica.exit) return replica.exit;
    this.sendKill(replica);
    return replica.exited;
  }

  async pause(replicaId: string): Promise<void> {
    const replica = this.book.get(replicaId);
    if (replica.exit || replica.paused) return;
    this.signalGroup(replica, 'SIGSTOP');
    replica.paused = true;
  }

  async resume(replicaId: string): Promise<void> {
    const replica = this.book.get(replicaId);
    if (replica.exit || !replica.paused) return;
    this.signalGroup(replica, 'SIGCONT');
    replica.paused = false;
  }

  inspect(replicaId: string): ReplicaInspect {
    return this.book.inspect(replicaId, { pid: this.book.get(replicaId).pid, containerId: null });
  }

  becameReady(replicaId: string): Promise<null> {
    const replica = this.book.get(replicaId);
    if (!replica.serving && !replica.exit) {
      replica.serving = true;
      this.renice(replica, 'serving');
    }
    return Promise.resolve(null);
  }

  /** Said once: a refused renice (EPERM) leaves priorities as they are for the rest of the run. */
  private reniceRefused = false;

  private renice(replica: ProcessReplica, phase: 'booting' | 'serving'): void {
    const p = this.options.priorities;
    if (!p || this.reniceRefused) return;
    const err = reniceProcess(replica.pid, p[phase], replicaAutogroupNice(p, phase));
    if (err === null) return;
    this.reniceRefused = true;
    this.options.log?.(
      `process runtime: nice ${p[phase]} for ${phase} replica ${replica.launch.replicaId} was refused (${err}); CPU priorities left as they are`,
    );
  }

  async logs(replicaId: string, tail: number): Promise<string[]> {
    return this.book.logs(replicaId, tail);
  }

  onExit(listener: (exit: ReplicaExit) => void): () => void {
    return this.book.onExit(listener);
  }

  async close(graceMs: number): Promise<void> {
    await Promise.all(this.book.ids().map((id) => this.stop(id, { graceMs })));
    this.registry?.dispose();
    this.releaseVolume();
  }

  async destroy(): Promise<void> {
    await Promise.all(this.book.ids().map((id) => this.kill(id)));
    this.registry?.dispose();
    this.releaseVolume();
  }

  /** Once every replica is gone: the volume goes with the run, unless --keep-data. */
  private releaseVolume(): void {
    const v = this.options.volume;
    if (!v) return;
    if (v.keep) this.options.log?.(`process runtime: kept the volume (--keep-data): ${v.host.runDir}`);
    else v.host.remove();
  }

  /** Pids of replicas that are still running (tests use it to prove nothing is left). */
  livePids(): number[] {
    return this.book.live().map((r) => r.pid);
  }

  private track(launch: ReplicaLaunch, child: ChildProcess, env: Record<string, string>): ProcessReplica {
    const pid = child.pid;
    if (pid === undefined) {
      // spawn failed synchronously (ENOENT is reported through 'error' with pid undefined)
      const message = `could not start ${launch.template.command?.[0] ?? '?'}`;
      throw new ZerodropError('ZD_REPLICA_START_FAILED', `replica ${launch.replicaId}: ${message}`, {
        fix: 'check that template.command[0] exists and is executable',
      });
    }
    const replica = this.book.add({ ...freshBookkeeping(launch), env, child, pid, serving: false });
    this.registry?.add(pid);
    this.renice(replica, 'booting');

    const keep = (prefix: string) => (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.length === 0) continue;
        keepLogLine(replica.logs, `${prefix}${line}`);
      }
    };
    child.stdout?.on('data', keep(''));
    child.stderr?.on('data', keep('[stderr] '));
    child.on('error', (err) => replica.logs.push(`[spawn] ${err.message}`));
    child.on('exit', (code, signal) => {
      // Reap grandchildren left in the group (sh -c, npm start...).
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // group already empty
      }
      this.registry?.remove(pid);
      this.book.recordExit(replica, code, signal);
    });
    return replica;
  }

  private started(replica: ProcessReplica, a: Announcement, startedAtMs: number): StartedReplica {
    return {
      replicaId: replica.launch.replicaId,
      endpoint: { host: LOOPBACK, port: a.port },
      adminEndpoint: a.adminPort === null ? null : { host: LOOPBACK, port: a.adminPort },
      pid: replica.pid,
      containerId: null,
      startedAtMs,
    };
  }

  private waitForAnnouncement(replica: ProcessReplica, timeoutMs: number): Promise<Announcement> {
    const { launch, child } = replica;
    return new Promise<Announcement>((resolve, reject) => {
      let buffered = '';
      const cleanup = (): void => {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.off('exit', onExit);
      };
      const fail = async (why: string): Promise<void> => {
        cleanup();
        this.sendKill(replica);
        reject(
          new ZerodropError('ZD_REPLICA_START_FAILED', `replica ${launch.replicaId} ${why}`, {
            details: ['last log lines:', ...replica.logs.slice(-20).map((l) => `  ${l}`)],
            fix: 'the replica must print {"event":"listening","port":N} on stdout once bound, or use port mode "env"',
          }),
        );
      };
      const onData = (chunk: Buffer): void => {
        buffered += chunk.toString('utf8');
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          const found = parseAnnouncement(line);
          if (found) {
            cleanup();
            resolve(found);
            return;
          }
        }
      };
      const onExit = (code: number | null, signal: string | null): void => {
        void fail(`exited before announcing its port (code ${code}, signal ${signal})`);
      };
      const timer = setTimeout(() => void fail(`did not announce its port within ${timeoutMs} ms`), timeoutMs);
      child.stdout?.on('data', onData);
      child.once('exit', onExit);
    });
  }

  private sendKill(replica: ProcessReplica): void {
    if (replica.exit) return;
    replica.killSent = true;
    this.signalGroup(replica, 'SIGKILL');
  }

  private signalMain(replica: ProcessReplica, signal: NodeJS.Signals): void {
    try {
      process.kill(replica.pid, signal);
    } catch {
      // already gone
    }
  }

  private signalGroup(replica: ProcessReplica, signal: NodeJS.Signals): void {
    signalGroup(replica.pid, signal);
  }
}

function pickEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR']) {
    const v = env[key];
    if (v !== undefined) out[key] = v;
  }
  return out;
}
