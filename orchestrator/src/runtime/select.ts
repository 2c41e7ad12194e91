/** Picks the runtime named by the scenario or --runtime. */
import { DockerRuntime } from './docker.js';
import { ProcessRuntime } from './process.js';
import type { Runtime, RuntimeName } from './types.js';
import { ZerodropError } from '../../../common/src/errors.js';
import type { RunVolume } from './volumes.js';

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
   * Docker: how replicas are reached — 'published' (127.0.0.1 ports, the default) or 'container'
   * (the container's bridge address, skipping docker-proxy). Default: env ZERODROP_DOCKER_ENDPOINT, else 'published'.
   */
  dockerEndpoint?: 'published' | 'container';
  /** deployment.volume (volumes.ts): the runtime creates, mounts and removes it. */
  volume?: RunVolume;
  /** Docker: the run's secret tree (host path) and where containers see it, read-only. */
  secrets?: { source: string; target: string };
  /** Process: nice values of booting and serving replicas (priorities.ts). */
  priorities?: { booting: number; serving: number };
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
    const fromEnv = process.env.ZERODROP_DOCKER_ENDPOINT;
    const endpoint = selection.dockerEndpoint ?? (fromEnv === 'container' || fromEnv === 'published' ? fromEnv : 'published');
    // ZERODROP_DOCKER_CGROUP_PARENT: auto (default) | engine (the engine's default, /docker) | a cgroup path.
    const cg = process.env.ZERODROP_DOCKER_CGROUP_PARENT;
    const cgroupParent = cg === undefined || cg === '' || cg === 'auto' ? 'auto' : cg === 'engine' ? null : cg;
    return new DockerRuntime({
      endpoint,
      cgroupParent,
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
