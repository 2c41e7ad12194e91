/** What a DockerRuntime is built with; each option's default is said here, once. */
import type Docker from 'dockerode';
import type { ImageBuildOptions } from './docker-image.js';
import type { DockerEndpointMode } from './docker-endpoint.js';
import type { CpuShares } from './docker-priority.js';
import type { RunVolume } from './volumes.js';

export interface DockerRuntimeOptions {
  /** A dockerode client (default: DOCKER_HOST or /var/run/docker.sock). */
  docker?: Docker;
  log?: (line: string) => void;
  /** Images to build or check at prepare(), so a missing one fails before any replica starts. */
  images?: string[];
  /** Options of the sample-app image build (tests point it elsewhere). */
  imageBuild?: ImageBuildOptions;
  /** Extra env for every container (under the template's env). */
  baseEnv?: Record<string, string>;
  /** Remove containers of dead runs at prepare() and close() (default true). */
  reap?: boolean;
  /**
   * Where the orchestrator and the proxy reach a replica (docker-endpoint.ts):
   * - 'auto' (default): the bridge address when a TCP connect from here reaches the first
   *   container on it (Linux, default bridge), else the published port.
   * - 'published': the container's port published on 127.0.0.1 (HostPort 0). With the engine's
   *   default userland proxy every connection is relayed by docker-proxy, which costs a CPU core
   *   at a few thousand req/s on these machines.
   * - 'container': the container's own address on the bridge network (an address the run created),
   *   kernel-forwarded, no docker-proxy hop.
   * - 'host': no network namespace per container (--network host); each binds 127.0.0.1 on a
   *   port it announces. Only for containers that announce their port (the sample-app).
   * Ports are published on 127.0.0.1 until the run reaches containers on their bridge address:
   * from then on (and in mode 'container') nothing is published (no iptables rules, no docker-proxy).
   */
  endpoint?: DockerEndpointMode;
  /** CPU weights of a booting and a serving container (docker-priority.ts; default 110 → 1024). */
  cpuShares?: CpuShares;
  /**
   * The cgroup the containers are created under. 'auto' (default): '/' when the engine uses the
   * cgroupfs driver, else the engine's default. Why: by default every container sits under one
   * `/docker` cgroup, whose CPU weight is that of a single task group, so under CPU contention all
   * replicas together get the share of ONE process session (the kernel's autogroup gives each
   * process replica of the process runtime its own). Measured on a loaded 2-core machine at
   * 1,000 req/s: p50 ≈ 0.4-1 s under /docker vs ≈ 2 ms for processes. Directly under the root, each
   * container weighs like one process replica. 'auto' (that), a path to override, or null for the engine's default.
   */
  cgroupParent?: string | null;
  /** deployment.volume: a named volume per run (or zone), mounted into every replica (docker-volumes.ts). */
  volume?: RunVolume;
  /** deployment.secrets: the run's secret tree on the host (a tmpfs), bind-mounted read-only at `target`. */
  secrets?: { source: string; target: string };
}
