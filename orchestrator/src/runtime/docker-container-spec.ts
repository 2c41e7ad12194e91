/**
 * A replica's container, as created: an unprivileged user, all capabilities dropped,
 * no-new-privileges, a read-only root filesystem with a small writable /tmp, memory, CPU and pids
 * limits, its ports published on 127.0.0.1 only, and the labels the reaper finds runs by. Its
 * command may say {host}, {port} and {admin-port}: where it listens, filled in per network.
 */
import type Docker from 'dockerode';
import { ZerodropError } from '../../../common/src/errors.js';
import { SAMPLE_APP_ADMIN_CONTAINER_PORT, UNPRIVILEGED_USER, type ImageFacts } from './docker-image.js';
import { HOST_NETWORK_LISTEN, listensWhereTold } from './docker-endpoint.js';
import { LABELS, ownerLabels, type RunOwner } from './docker-reaper.js';
import type { ReplicaLaunch } from './types.js';

const LOOPBACK = '127.0.0.1';
const TMPFS_TMP = 'rw,nosuid,nodev,noexec,size=16m,mode=1777';
const PIDS_LIMIT = 512;

/** What the container spec takes from the runtime besides the launch and the image. */
export interface ContainerContext {
  /** Extra env for every container (under the template's env). */
  baseEnv: Record<string, string> | undefined;
  owner: RunOwner;
  cgroupParent: string | null;
  /** CPU weight at create: a booting container's (docker-priority.ts); 0 = the engine's default. */
  cpuShares: number;
  /** Publish its ports on 127.0.0.1 (false: reached on its bridge address only). */
  publish: boolean;
  /** 'host': no network namespace of its own (docker-endpoint.ts, ZERODROP_DOCKER_ENDPOINT=host). */
  network: 'bridge' | 'host';
  /**
   * The id of a pod sandbox whose network namespace it joins (docker-sandbox.ts), or null. Joined,
   * it neither exposes nor publishes ports (the engine refuses both): it is reached on the
   * sandbox's bridge address.
   */
  sandbox?: string | null;
}

/**
 * What the placeholders of a container's command become: where it listens and on which ports. On
 * the bridge it has the namespace to itself (all addresses, the template's port); on the host's
 * network it shares the host's ports with every other replica, so it binds loopback on ports the
 * kernel picks, and announces them.
 */
function placeholders(network: 'bridge' | 'host', containerPort: number): Record<string, string> {
  return network === 'host'
    ? { '{host}': HOST_NETWORK_LISTEN, '{port}': '0', '{admin-port}': '0' }
    : { '{host}': '0.0.0.0', '{port}': String(containerPort), '{admin-port}': String(SAMPLE_APP_ADMIN_CONTAINER_PORT) };
}

/** The create options of one replica's container, and the admin port it publishes (or null). */
export function containerSpec(
  launch: ReplicaLaunch,
  facts: ImageFacts,
  context: ContainerContext,
): { create: Docker.ContainerCreateOptions; adminPort: number | null } {
  const { template, resources } = launch;
  const containerPort = template.containerPort;
  if (!Number.isInteger(containerPort) || containerPort <= 0) {
    throw new ZerodropError(
      'ZD_BAD_SPEC',
      `replica ${launch.replicaId}: template.containerPort must be the port the container listens on, got ${containerPort}`,
      {
        fix: 'set target.containerPort (e.g. 8080)',
      },
    );
  }
  if (context.network === 'host' && !listensWhereTold(template)) {
    throw new ZerodropError(
      'ZD_BAD_USAGE',
      `replica ${launch.replicaId}: ZERODROP_DOCKER_ENDPOINT=host needs a container that binds the {host} and {port} of its command and announces the port (the sample-app); this one listens on a fixed port`,
      { fix: 'unset ZERODROP_DOCKER_ENDPOINT (auto: the bridge address) for an image that listens on a fixed port' },
    );
  }
  const subst = placeholders(context.network, containerPort);
  const args = template.command?.map((a) => a.replace(/\{(?:host|port|admin-port)\}/g, (m) => subst[m] ?? m));
  const adminPort = context.network === 'host' ? null : adminPortOf(args ?? null, facts);
  const env: Record<string, string> = {
    ...context.baseEnv,
    ...template.env,
    ZERODROP_RUN_ID: launch.runId,
    REPLICA_ID: launch.replicaId,
    ZONE: launch.zone,
    APP_VERSION: template.version,
  };
  if (template.port.mode === 'env') env[template.port.envVar] = String(containerPort);
  const joined = context.network === 'bridge' && typeof context.sandbox === 'string';
  const ports = context.network === 'host' || joined ? [] : [containerPort, ...(adminPort !== null && adminPort !== containerPort ? [adminPort] : [])];
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of ports) {
    exposed[`${p}/tcp`] = {};
    if (context.publish) bindings[`${p}/tcp`] = [{ HostIp: LOOPBACK, HostPort: '0' }];
  }
  const memory = resources.memoryMiB > 0 ? Math.round(resources.memoryMiB * 1024 * 1024) : 0;
  const user = isRootUser(facts.user) ? UNPRIVILEGED_USER : facts.user;
  const name = containerName(launch.runId, launch.replicaId);
  const create: Docker.ContainerCreateOptions = {
    name,
    Image: template.image as string,
    Cmd: args && args.length > 0 ? args : undefined,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    User: user,
    Labels: {
      [LABELS.managed]: '1',
      [LABELS.runId]: launch.runId,
      [LABELS.deployment]: launch.deployment,
      [LABELS.zone]: launch.zone,
      [LABELS.version]: template.version,
      [LABELS.revision]: String(launch.revision),
      [LABELS.replica]: launch.replicaId,
      ...ownerLabels(context.owner),
    },
    ExposedPorts: exposed,
    StopSignal: template.lifecycle?.stopSignal ?? 'SIGTERM',
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    HostConfig: {
      ...(context.cgroupParent ? { CgroupParent: context.cgroupParent } : {}),
      PortBindings: bindings,
      Init: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': TMPFS_TMP },
      Memory: memory,
      MemorySwap: memory > 0 ? memory : 0,
      NanoCpus: resources.cpus > 0 ? Math.round(resources.cpus * 1e9) : 0,
      ...(context.cpuShares > 0 ? { CpuShares: context.cpuShares } : {}),
      PidsLimit: PIDS_LIMIT,
      RestartPolicy: { Name: 'no' },
      AutoRemove: false,
      NetworkMode: joined ? `container:${context.sandbox}` : context.network,
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '1' } },
    },
  };
  return { create, adminPort };
}

function isRootUser(user: string): boolean {
  const name = user.split(':')[0] ?? '';
  return name === '' || name === '0' || name === 'root';
}

/** `--admin-port N` (N > 0) in the args, else 9091 when the image EXPOSEs it (the sample-app does). */
function adminPortOf(args: string[] | null, facts: ImageFacts): number | null {
  if (args) {
    for (let i = 0; i < args.length; i++) {
      const a = args[i] as string;
      const value = a === '--admin-port' ? args[i + 1] : a.startsWith('--admin-port=') ? a.slice('--admin-port='.length) : undefined;
      if (value === undefined) continue;
      const n = Number(value);
      return Number.isInteger(n) && n > 0 ? n : null;
    }
  }
  return facts.exposedPorts.includes(SAMPLE_APP_ADMIN_CONTAINER_PORT) ? SAMPLE_APP_ADMIN_CONTAINER_PORT : null;
}

/** `zerodrop-<run>-<what>`, in the characters the engine takes, at most 200 long. */
export function containerName(runId: string, replicaId: string): string {
  const raw = `zerodrop-${runId}-${replicaId}`.replace(/[^a-zA-Z0-9_.-]/g, '_');
  return raw.length > 200 ? raw.slice(0, 200) : raw;
}
