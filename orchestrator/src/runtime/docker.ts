/**
 * The docker runtime: every replica is a container on the local engine (dockerode), behind the
 * same narrow port as the process runtime, speaking our own types only.
 *
 * - Containers carry `zerodrop=1`, the run id, zone, version, replica and the owning process's
 *   identity (docker-reaper.ts); containers of dead runs are removed at prepare() and close().
 * - Replicas are reached on their bridge address when the harness can route to it (endpoint
 *   mode auto, docker-endpoint.ts), else on ports published on 127.0.0.1 only, on ports the engine
 *   picks (HostPort "0"), read back from inspect. The main container port is the endpoint; the
 *   admin port (the sample-app's 9091, `--admin-port N` in the args, or 9091 when the image
 *   EXPOSEs it) is the admin endpoint.
 * - Locked down: user 65534 (unless the image names a non-root user), all capabilities dropped,
 *   no-new-privileges, read-only root filesystem with a small tmpfs /tmp, memory (no swap), CPU
 *   and pids limits, and `Init: true` so docker-init is PID 1 and forwards SIGTERM to the app
 *   (a Node PID 1 ignores signals it does not handle — mechanics.md E4).
 * - start resolves once the container runs and its published port is known: for an announcing
 *   replica (the sample-app) when `{"event":"listening",...}` shows on its stdout, else as soon as
 *   the port mapping exists. Readiness is the orchestrator's probe, as with processes.
 * - stop = SIGTERM, then SIGKILL after graceMs: `docker stop -t` semantics, but with millisecond
 *   grace and the SIGKILL sent by us, so "graceful" vs "killed" is what happened, not a guess
 *   from the exit code; an already-stopped container (304/409) is a success.
 * - pause/unpause = the cgroup freezer (zone `hang`): the published port still accepts (docker-proxy,
 *   and the frozen app's backlog), nothing answers. A signal sent to a paused container is
 *   delivered by this engine (20.10 resumes it after signalling); we unpause explicitly where an
 *   engine leaves it frozen, so stop/kill of a hung replica always completes.
 * - Exits are observed with `wait(not-running)` per container; logs come from an attach stream
 *   into a ring buffer (shown in start errors), and outlive the container, which is removed as
 *   soon as its exit is recorded.
 */
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { ZerodropError, errorMessage } from '../../../common/src/errors.js';
import { monotonicMs } from '../../../common/src/clock.js';
import { connectEngine, createDockerClient, engineCall, engineMessage, engineStatus, type EngineInfo } from './docker-engine.js';
import { containerAddress, delay, isNotRunning, publishedPorts, signalOf } from './docker-inspect.js';
import { containerSpec } from './docker-container-spec.js';
import { SAMPLE_APP_IMAGE, ensureSampleAppImage, requireImage, type ImageFacts } from './docker-image.js';
import { currentOwner, reapDeadRuns, removeContainer, removeRunContainers, type RunOwner } from './docker-reaper.js';
import { ReplicaBook, freshBookkeeping } from './replica-book.js';
import { execInContainer } from './docker-exec.js';
import { pipeLogs, waitForAnnouncement, type DockerReplica } from './docker-replica-io.js';
import type { ExecResult } from '../lifecycle/types.js';
import type { ReplicaExit, ReplicaInspect, ReplicaLaunch, Runtime, StartedReplica, StopOptions } from './types.js';
import { DockerVolumes } from './docker-volumes.js';
import { DATA_DIR_ENV } from './volumes.js';
import { DEFAULT_DOCKER_ENDPOINT, EndpointChooser, HOST_NETWORK_LISTEN, type EndpointChoice } from './docker-endpoint.js';
import { cgroupCpuMs, cgroupOf, procCpu, shimPidOf } from './docker-cgroup.js';
import { DEFAULT_CPU_SHARES, raiseToServing, type CpuShares } from './docker-priority.js';
import type { BootMarks, ReadyCost, RuntimeChoice } from './types.js';
import type { DockerRuntimeOptions } from './docker-options.js';
import { dockerActionError, sendKill, signalContainer } from './docker-signal.js';
import { SandboxPool, type Sandbox } from './docker-sandbox.js';
import { ensurePauseImage } from './docker-pause-image.js';

const LOOPBACK = '127.0.0.1';

interface PortMap {
  endpoint: number;
  admin: number | null;
}

const ENDPOINT_LABELS: Record<EndpointChoice['use'], string> = {
  container: 'container (bridge address)',
  published: 'published (127.0.0.1, docker-proxy)',
  host: "host (the host's network, 127.0.0.1)",
};

export class DockerRuntime implements Runtime {
  readonly name = 'docker' as const;
  private readonly docker: Docker;
  private readonly book = new ReplicaBook<DockerReplica>();
  private readonly images = new Map<string, Promise<ImageFacts>>();
  private readonly pendingStarts = new Set<Promise<unknown>>();
  private readonly owner: RunOwner;
  private engine: Promise<EngineInfo> | null = null;
  private cgroupParent: string | null = null;
  private runId: string | null = null;
  private readonly volumes: DockerVolumes | null;
  private readonly endpoints: EndpointChooser;
  private readonly shares: CpuShares;
  /** How the last Ready raise went (for choices()). */
  private lastRaise: ReadyCost['priority'] = null;
  private closing = false;
  /** Pod sandboxes made before the load (docker-sandbox.ts), once prewarm() asked for them. */
  private sandboxes: SandboxPool | null = null;
  /** Why prewarm() made none, for choices(). */
  private noSandboxes: string | null = null;
  /** Set once close/destroy finished: background pollers stop. */
  private disposed = false;

  constructor(private readonly options: DockerRuntimeOptions = {}) {
    this.docker = options.docker ?? createDockerClient();
    this.owner = currentOwner();
    this.volumes = options.volume ? new DockerVolumes(this.docker, options.volume, this.owner, options.log) : null;
    this.endpoints = new EndpointChooser(options.endpoint ?? DEFAULT_DOCKER_ENDPOINT);
    this.shares = options.cpuShares ?? DEFAULT_CPU_SHARES;
  }

  /** First Ready: the boot's CPU (cgroup, shim), then the serving CPU weight. */
  async becameReady(replicaId: string): Promise<ReadyCost | null> {
    const replica = this.book.get(replicaId);
    if (replica.exit) return null;
    const cpuMs = replica.cgroup ? cgroupCpuMs(replica.cgroup) : null;
    const helperCpuMs = replica.shimPid !== null ? (procCpu(replica.shimPid)?.cpuMs ?? null) : null;
    try {
      const priority = await raiseToServing(this.docker, replica.container, replica.cgroup, this.shares);
      this.lastRaise = priority;
      return { cpuMs, helperCpuMs, priority };
    } catch (err) {
      if (replica.exit || isNotRunning(err)) return { cpuMs, helperCpuMs, priority: null };
      throw dockerActionError(replica, 'update --cpu-shares', err);
    }
  }

  choices(): RuntimeChoice[] {
    const out: RuntimeChoice[] = [];
    const endpoint = this.endpoints.current();
    if (endpoint)
      out.push({
        what: 'endpoint',
        value: ENDPOINT_LABELS[endpoint.use],
        why: endpoint.why,
      });
    const { booting, serving } = this.shares;
    const raise = this.lastRaise ? `, raised by ${this.lastRaise.how}` : '';
    out.push({
      what: 'cpu shares',
      value: `booting ${booting} → serving ${serving}${raise}`,
      why: 'a booting container ranks below serving ones, and both below the harness (a session at nice 0 weighs 1024)',
    });
    if (this.sandboxes !== null) {
      const { made, used, missed } = this.sandboxes.summary();
      out.push({
        what: 'pod sandboxes',
        value: `${made} made before the load, ${used} joined by a replica${missed > 0 ? `, ${missed} ${missed === 1 ? 'replica' : 'replicas'} started with its own namespace (pool empty)` : ''}`,
        why: "a replica started under load joins a waiting network namespace: the engine's namespace, veth and address work happens before the load",
      });
    } else if (this.noSandboxes !== null) out.push({ what: 'pod sandboxes', value: 'none', why: this.noSandboxes });
    if (this.cgroupParent !== null)
      out.push({ what: 'cgroup parent', value: this.cgroupParent, why: 'each container weighs like one process session, not all of them like one' });
    return out;
  }

  /** Pings the engine (ZD_RUNTIME_UNAVAILABLE with the fix when there is none), reaps dead runs, readies images. */
  async prepare(runId: string): Promise<void> {
    this.runId ??= runId;
    await this.connect();
    if (this.options.reap !== false) await reapDeadRuns(this.docker, this.options.log);
    if (this.options.reap !== false) await DockerVolumes.reapDead(this.docker, this.options.log);
    this.volumes?.prepare();
    for (const image of this.options.images ?? []) await this.image(image);
  }

  /**
   * Makes `replicaStarts` pod sandboxes now, before the load, for the replicas the run will start
   * during it (docker-sandbox.ts). Only when replicas are reached on their bridge address: decided
   * by the first container, so call it after the first replicas started.
   */
  async prewarm(replicaStarts: number): Promise<number> {
    if (replicaStarts <= 0 || this.closing) return 0;
    const use = this.endpoints.current()?.use;
    if (use !== 'container') {
      this.noSandboxes = `replicas are reached ${use === undefined ? 'before any started' : `on endpoint "${use}"`}: a joined container cannot publish ports`;
      return 0;
    }
    if (this.runId === null) throw new ZerodropError('ZD_INTERNAL', 'prewarm() before prepare()');
    const image = await ensurePauseImage(this.docker, this.options.log);
    this.sandboxes ??= new SandboxPool(this.docker, { runId: this.runId, owner: this.owner, cgroupParent: this.cgroupParent, log: this.options.log });
    await this.sandboxes.fill(replicaStarts, image);
    return this.sandboxes.waiting();
  }

  /** The engine's version facts (connects if needed). */
  engineInfo(): Promise<EngineInfo> {
    return this.connect();
  }

  async start(launch: ReplicaLaunch): Promise<StartedReplica> {
    if (this.closing) {
      throw new ZerodropError('ZD_REPLICA_START_FAILED', `replica ${launch.replicaId}: the docker runtime is closing`);
    }
    const task = this.startReplica(launch);
    this.pendingStarts.add(task);
    try {
      return await task;
    } finally {
      this.pendingStarts.delete(task);
    }
  }

  async stop(replicaId: string, { graceMs, signal: stopSignal }: StopOptions): Promise<ReplicaExit> {
    const replica = this.book.get(replicaId);
    if (replica.exit) return replica.exit;
    replica.stopRequested = true;
    // The grace period runs from the moment we ask, as the kubelet counts it.
    const timer = setTimeout(
      () => {
        sendKill(this.docker, replica).catch((err: unknown) => this.options.log?.(`docker: SIGKILL of ${replica.name} failed: ${errorMessage(err)}`));
      },
      Math.max(0, graceMs),
    );
    try {
      await signalContainer(this.docker, replica, stopSignal ?? 'SIGTERM');
      return await replica.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** A preStop exec hook: `docker exec` in the container, bounded by timeoutMs. */
  async exec(replicaId: string, command: string[], timeoutMs: number): Promise<ExecResult> {
    return execInContainer(this.docker, this.book.get(replicaId).container, command, timeoutMs);
  }

  async kill(replicaId: string): Promise<ReplicaExit> {
    const replica = this.book.get(replicaId);
    if (replica.exit) return replica.exit;
    await sendKill(this.docker, replica);
    return replica.exited;
  }

  async pause(replicaId: string): Promise<void> {
    const replica = this.book.get(replicaId);
    if (replica.exit || replica.paused) return;
    try {
      await engineCall(this.docker, () => replica.container.pause());
      replica.paused = true;
    } catch (err) {
      if (replica.exit || isNotRunning(err)) return; // exited meanwhile: nothing to freeze
      throw dockerActionError(replica, 'pause', err);
    }
  }

  async resume(replicaId: string): Promise<void> {
    const replica = this.book.get(replicaId);
    if (replica.exit || !replica.paused) return;
    try {
      await engineCall(this.docker, () => replica.container.unpause());
    } catch (err) {
      if (!(replica.exit || isNotRunning(err) || /not paused/i.test(engineMessage(err)))) throw dockerActionError(replica, 'unpause', err);
    }
    replica.paused = false;
  }

  inspect(replicaId: string): ReplicaInspect {
    return this.book.inspect(replicaId, { pid: null, containerId: this.book.get(replicaId).containerId });
  }

  async logs(replicaId: string, tail: number): Promise<string[]> {
    return this.book.logs(replicaId, tail);
  }

  onExit(listener: (exit: ReplicaExit) => void): () => void {
    return this.book.onExit(listener);
  }

  async close(graceMs: number): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.pendingStarts]);
    await Promise.allSettled(this.book.ids().map((id) => this.stop(id, { graceMs })));
    await this.cleanup();
  }

  async destroy(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.pendingStarts]);
    await Promise.allSettled(this.book.ids().map((id) => this.kill(id)));
    await this.cleanup();
  }

  /** Container ids of replicas that have not exited (tests prove nothing is left). */
  liveContainers(): string[] {
    return this.book.live().map((r) => r.containerId);
  }

  // ------------------------------------------------------------------------------ internals

  private connect(): Promise<EngineInfo> {
    if (!this.engine) {
      this.engine = connectEngine(this.docker).then((info) => {
        const wanted = this.options.cgroupParent ?? 'auto';
        this.cgroupParent = wanted === 'auto' ? (info.cgroupDriver === 'cgroupfs' ? '/' : null) : wanted;
        return info;
      });
      this.engine.catch(() => (this.engine = null)); // try again next time (dockerd may come up)
    }
    return this.engine;
  }

  /** Sample-app image: built offline when missing or stale. Any other image: must be on the engine. */
  private image(ref: string): Promise<ImageFacts> {
    let facts = this.images.get(ref);
    if (!facts) {
      facts = (async () => {
        await this.connect();
        if (ref === SAMPLE_APP_IMAGE) {
          const built = await ensureSampleAppImage(this.docker, { log: this.options.log, ...this.options.imageBuild });
          if (built.built) this.options.log?.(`docker: built ${built.image} in ${(built.ms / 1000).toFixed(1)} s`);
        }
        return requireImage(this.docker, ref);
      })();
      this.images.set(ref, facts);
      facts.catch(() => this.images.delete(ref));
    }
    return facts;
  }

  private async startReplica(launch: ReplicaLaunch): Promise<StartedReplica> {
    const { template, replicaId } = launch;
    if (!template.image) {
      throw new ZerodropError('ZD_BAD_SPEC', `replica ${replicaId}: the template has no image`, {
        fix: 'set target.image (e.g. image: myapp:v1), or use --runtime process with a command',
      });
    }
    if (this.book.has(replicaId)) throw new ZerodropError('ZD_INTERNAL', `replica ${replicaId} already exists`);
    if (this.runId === null) await this.prepare(launch.runId);
    const facts = await this.image(template.image);
    const calledAtMs = monotonicMs();
    // Publishing costs the engine iptables rules and two docker-proxy processes per container (bench
    // row (f)); once the run reaches containers on their bridge address, later ones go unpublished.
    const network = this.options.endpoint === 'host' ? 'host' : 'bridge';
    const publish = network === 'bridge' && this.options.endpoint !== 'container' && this.endpoints.current()?.use !== 'container';
    const sandbox = network === 'bridge' && !publish ? (this.sandboxes?.take() ?? null) : null;
    const { create: spec, adminPort } = containerSpec(launch, facts, {
      baseEnv: this.options.baseEnv,
      owner: this.owner,
      cgroupParent: this.cgroupParent,
      cpuShares: this.shares.booting,
      publish,
      network,
      sandbox: sandbox?.id ?? null,
    });
    const mounts: Docker.MountSettings[] = [];
    if (this.volumes !== null) {
      const user = typeof spec.User === 'string' ? spec.User : '';
      const mount = await this.volumes.mountFor(launch.runId, launch.zone, user);
      mounts.push(mount);
      spec.Env = [...(spec.Env ?? []), `${DATA_DIR_ENV}=${mount.Target}`];
    }
    const secrets = this.options.secrets;
    if (secrets) mounts.push({ Type: 'bind', Source: secrets.source, Target: secrets.target, ReadOnly: true });
    if (mounts.length > 0) spec.HostConfig = { ...spec.HostConfig, Mounts: mounts };
    const name = spec.name as string;

    let container: Docker.Container;
    try {
      container = await engineCall(this.docker, () => this.docker.createContainer(spec));
    } catch (err) {
      if (sandbox) this.sandboxes?.retire(sandbox);
      const status = engineStatus(err);
      throw new ZerodropError('ZD_REPLICA_START_FAILED', `replica ${replicaId}: cannot create container ${name}: ${engineMessage(err)}`, {
        fix: status === 409 ? `a container named ${name} exists already: docker rm -f ${name}` : 'check `docker info` and the image',
        cause: err,
      });
    }
    const createdAtMs = monotonicMs();
    const replica = this.track(launch, container, name, sandbox);
    let watching = false;
    try {
      const stream = (await engineCall(this.docker, () => container.attach({ stream: true, stdout: true, stderr: true, logs: true }))) as unknown as Readable;
      pipeLogs(this.docker, replica, stream);
      // The announcement can only be missed if we listen late: listen before the start.
      const announced = template.port.mode === 'announce' ? waitForAnnouncement(replica, template.startTimeoutMs) : null;
      announced?.catch(() => undefined);
      const startedAtMs = monotonicMs();
      await engineCall(this.docker, () => container.start());
      this.watchExit(replica);
      watching = true;
      const runningAtMs = monotonicMs();
      const info = await engineCall(this.docker, () => container.inspect());
      if (info.State.Pid > 0) {
        replica.cgroup = cgroupOf(info.State.Pid);
        replica.shimPid = shimPidOf(info.State.Pid);
        replica.initPid = info.State.Pid;
      }
      let main = template.containerPort;
      let admin = adminPort;
      if (announced) {
        const a = await announced;
        main = a.port;
        admin = a.adminPort;
      }
      const listeningAtMs = monotonicMs();
      const boot: BootMarks = { calledAtMs, createdAtMs, runningAtMs, listeningAtMs };
      const started = { replicaId, pid: null, containerId: replica.containerId, startedAtMs, boot };
      const address = sandbox?.address ?? containerAddress(info);
      const use = (await this.endpoints.choose(address, main)).use;
      if (use === 'host') {
        const at = (port: number): { host: string; port: number } => ({ host: HOST_NETWORK_LISTEN, port });
        return { ...started, endpoint: at(main), adminEndpoint: admin === null ? null : at(admin) };
      }
      if (use === 'container') {
        if (address === null) {
          throw new ZerodropError('ZD_REPLICA_START_FAILED', `replica ${replicaId}: container ${name} has no bridge address for endpoint mode "container"`, {
            fix: 'use endpoint mode auto (the default) or published: ZERODROP_DOCKER_ENDPOINT=auto',
          });
        }
        return { ...started, endpoint: { host: address, port: main }, adminEndpoint: admin === null ? null : { host: address, port: admin } };
      }
      const bound = publishedPorts(info);
      const ports: PortMap = { endpoint: 0, admin: null };
      ports.endpoint = this.hostPort(replica, bound, main, announced ? 'its announced port' : 'template.containerPort');
      ports.admin = admin === null ? null : announced ? this.hostPort(replica, bound, admin, 'its announced admin port') : (bound.get(admin) ?? null);
      return {
        ...started,
        endpoint: { host: LOOPBACK, port: ports.endpoint },
        adminEndpoint: ports.admin === null ? null : { host: LOOPBACK, port: ports.admin },
      };
    } catch (err) {
      if (watching) {
        await sendKill(this.docker, replica).catch(() => undefined);
        await Promise.race([replica.exited, delay(5000)]);
      }
      await Promise.race([replica.streamEnded, delay(500)]);
      this.markExitedIfUnknown(replica);
      if (err instanceof ZerodropError) {
        if (err.code === 'ZD_RUNTIME_UNAVAILABLE' || err.details.length > 0) throw err;
        throw new ZerodropError(err.code, err.message, { details: this.tailDetails(replica), fix: err.fix, cause: err.cause });
      }
      throw new ZerodropError('ZD_REPLICA_START_FAILED', `replica ${replicaId}: container ${name} did not start: ${engineMessage(err)}`, {
        details: this.tailDetails(replica),
        fix: 'check the image runs with `docker run --rm <image>`; the last log lines above say why',
        cause: err,
      });
    }
  }

  private track(launch: ReplicaLaunch, container: Docker.Container, name: string, sandbox: Sandbox | null): DockerReplica {
    return this.book.add({
      ...freshBookkeeping(launch),
      containerId: container.id,
      container,
      name,
      stdoutListeners: new Set(),
      streamEnded: Promise.resolve(),
      removed: null,
      cgroup: null,
      shimPid: null,
      initPid: null,
      sandbox,
    });
  }

  /** Waits for the container to stop running (condition not-running, called after start). */
  private watchExit(replica: DockerReplica): void {
    const onExit = async (code: number | null, oomKilled = false): Promise<void> => {
      if (replica.exit) return;
      await Promise.race([replica.streamEnded, delay(1000)]); // the last lines first
      this.recordExit(replica, code, oomKilled);
    };
    const poll = async (): Promise<void> => {
      // The wait request broke (engine restarted?): poll until the container stops.
      while (!this.disposed) {
        try {
          const info = await replica.container.inspect();
          if (!info.State.Running) return onExit(info.State.ExitCode ?? null, info.State.OOMKilled === true);
        } catch (err) {
          if (engineStatus(err) === 404) return onExit(null);
        }
        await delay(1000);
      }
    };
    replica.container
      .wait({ condition: 'not-running' })
      .then(async (result: { StatusCode?: number }) => {
        let oom = false;
        try {
          oom = (await replica.container.inspect()).State.OOMKilled === true;
        } catch {
          // removed already
        }
        return onExit(typeof result.StatusCode === 'number' ? result.StatusCode : null, oom);
      })
      .catch((err: unknown) => {
        if (engineStatus(err) === 404) return onExit(null);
        return poll();
      });
  }

  private recordExit(replica: DockerReplica, code: number | null, oomKilled: boolean): void {
    if (replica.exit) return;
    replica.paused = false;
    if (oomKilled) replica.logs.push('[docker] the container was OOM-killed (memory limit reached)');
    this.book.recordExit(replica, code, signalOf(code), oomKilled);
    if (replica.sandbox) this.sandboxes?.retire(replica.sandbox);
    replica.removed = removeContainer(this.docker, replica.containerId).catch((err: unknown) => {
      this.options.log?.(`docker: could not remove ${replica.name}: ${errorMessage(err)}`);
    });
  }

  /** A start that failed before the exit watcher ran: record the exit so the replica is settled. */
  private markExitedIfUnknown(replica: DockerReplica): void {
    if (replica.exit) return;
    this.recordExit(replica, null, false);
  }

  private hostPort(replica: DockerReplica, bound: Map<number, number>, containerPort: number, what: string): number {
    const port = bound.get(containerPort);
    if (port === undefined) {
      throw new ZerodropError('ZD_REPLICA_START_FAILED', `replica ${replica.launch.replicaId}: ${what} ${containerPort} is not published`, {
        details: [`published: ${[...bound.entries()].map(([c, h]) => `${c}→127.0.0.1:${h}`).join(', ') || 'nothing'}`],
        fix: 'set target.containerPort to the port the container listens on',
      });
    }
    return port;
  }

  private tailDetails(replica: DockerReplica): string[] {
    const tail = replica.logs.slice(-20);
    return tail.length > 0 ? ['last log lines:', ...tail.map((l) => `  ${l}`)] : ['(the container wrote no log lines)'];
  }

  private async cleanup(): Promise<void> {
    await Promise.allSettled(this.book.all().map((r) => r.removed ?? Promise.resolve()));
    try {
      await this.sandboxes?.close();
      if (this.runId !== null) await removeRunContainers(this.docker, this.runId);
      if (this.volumes !== null && this.runId !== null) await this.volumes.release(this.runId);
      if (this.options.reap !== false) await reapDeadRuns(this.docker, this.options.log);
      if (this.options.reap !== false) await DockerVolumes.reapDead(this.docker, this.options.log);
    } catch (err) {
      this.options.log?.(`docker: cleanup: ${errorMessage(err)}`);
    }
    this.disposed = true;
  }
}
