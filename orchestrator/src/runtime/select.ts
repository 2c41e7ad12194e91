/** Picks the runtime named by the scenario or --runtime. */
import { DockerRuntime } from './docker.js';
import { ProcessRuntime } from './process.js';
import { harnessShortfall, type ReplicaPriorities } from './priorities.js';
import type { Runtime, RuntimeName } from './types.js';
import { ZerodropError } from '../../../common/src/errors.js';
import type { RunVolume } from './volumes.js';
import { dockerEndpointFromEnv, type DockerEndpointMode } from './docker-endpoint.js';
import { DEFAULT_CPU_SHARES, sharesBelowHarness, sharesOfNice, type CpuShares } from './docker-priority.js';

export interface RuntimeSelection {
  runId: string;
  log?: (line: string) => void;
  /**
   * Docker: images the run will use (first version and rollout targets). They are built (the
   * sample-app) or checked (users' images) at prepare(), so a missing one fails before any replica
   * starts instead of at the first rollout step. Optional: start() readies an image on first use.
   */
  images?: string[];
  /**
   * Docker: how replicas are reached — 'auto' (the bridge address when reachable, else the
   * published port), 'published' (127.0.0.1 ports, docker-proxy), 'container' (the bridge
   * address) or 'host' (the host's network, 127.0.0.1: containers that announce their port). Default: env ZERODROP_DOCKER_ENDPOINT, else DEFAULT_DOCKER_ENDPOINT.
   */
  dockerEndpoint?: DockerEndpointMode;
  /** deployment.volume (volumes.ts): the runtime creates, mounts and removes it. */
  volume?: RunVolume;
  /** Docker: the run's secret tree (host path) and where containers see it, read-only. */
  secrets?: { source: string; target: string };
  /**
   * Nice values of booting and serving replicas, and the harness's (priorities.ts). Docker: only
   * the harness's counts: the containers' cpu.shares come down by its weight (docker-priority.ts),
   * unless ZERODROP_DOCKER_CPU_SHARES sets them.
   */
  priorities?: ReplicaPriorities;
}

export function createRuntime(name: RuntimeName, selection: RuntimeSelection): Runtime {
  if (name === 'process') {
    return new ProcessRuntime({
      ...(selection.log ? { log: selection.log } : {}),
      ...(selection.volume ? { volume: selection.volume } : {}),
      ...(selection.priorities ? { priorities: selection.priorities } : {}),
    });
  }
  if (name === 'docker') {
    const endpoint = selection.dockerEndpoint ?? dockerEndpointFromEnv();
    // ZERODROP_DOCKER_CGROUP_PARENT: auto (default) | engine (the engine's default, /docker) | a cgroup path.
    const cg = process.env.ZERODROP_DOCKER_CGROUP_PARENT;
    const cgroupParent = cg === undefined || cg === '' || cg === 'auto' ? 'auto' : cg === 'engine' ? null : cg;
    return new DockerRuntime({
      endpoint,
      cgroupParent,
      cpuShares:
        sharesFromEnv(process.env.ZERODROP_DOCKER_CPU_SHARES) ??
        (selection.priorities ? sharesBelowHarness(harnessShortfall(selection.priorities.harness), sharesOfNice(selection.priorities)) : DEFAULT_CPU_SHARES),
      ...(selection.log ? { log: selection.log } : {}),
      ...(selection.images ? { images: selection.images } : {}),
      ...(selection.volume ? { volume: selection.volume } : {}),
      ...(selection.secrets ? { secrets: selection.secrets } : {}),
    });
  }
  throw new ZerodropError('ZD_RUNTIME_UNAVAILABLE', `runtime "${String(name)}" is not available in this build`, {
    fix: 'use --runtime process or --runtime docker',
  });
}

/** ZERODROP_DOCKER_CPU_SHARES=<booting>:<serving> (cpu.shares, 2..262144); unset: null (the defaults, below the harness). */
function sharesFromEnv(raw: string | undefined): CpuShares | null {
  if (raw === undefined || raw === '') return null;
  const m = /^(\d+):(\d+)$/.exec(raw.trim());
  const ok = (n: number): boolean => Number.isInteger(n) && n >= 2 && n <= 262_144;
  if (m && ok(Number(m[1])) && ok(Number(m[2]))) return { booting: Number(m[1]), serving: Number(m[2]) };
  throw new ZerodropError('ZD_BAD_USAGE', `ZERODROP_DOCKER_CPU_SHARES=${raw} is not <booting>:<serving>`, {
    fix: `give two cpu.shares values in 2..262144, e.g. ${DEFAULT_CPU_SHARES.booting}:${DEFAULT_CPU_SHARES.serving} (the default), or 1024:1024 for no boot ranking`,
  });
}
