/**
 * CPU weights of containers: a booting container ranks below serving ones (the rule the process
 * runtime follows with its priorities), raised to the serving weight once it is Ready. The raise
 * writes the container's cgroup file when its path is known (microseconds), else asks the engine
 * (`docker update --cpu-shares`, a round trip through dockerd and runc: see the bench's docker
 * row). The weights are cpu.shares (cgroup v1; v2 maps them to cpu.weight as runc does).
 *
 * Why these numbers (docs/architecture.md, "Runtimes"): 1024 is the weight of one process session
 * under the kernel's autogroup, so a serving container weighs what a process replica or the
 * harness weighs; 128 (about nice +9) lets a booting container use idle CPU but yield it to
 * serving replicas and to the harness when the machine is busy, as a rollout's boots do.
 */
import type Docker from 'dockerode';
import { monotonicMs } from '../../../common/src/clock.js';
import { setCgroupShares, type ContainerCgroup } from './docker-cgroup.js';
import { engineCall } from './docker-engine.js';
import type { ReadyCost } from './types.js';

export interface CpuShares {
  booting: number;
  serving: number;
}

export const DEFAULT_CPU_SHARES: CpuShares = { booting: 128, serving: 1024 };

/** Raises a Ready container to the serving weight; reports how and what it took. */
export async function raiseToServing(docker: Docker, container: Docker.Container, cgroup: ContainerCgroup | null, shares: CpuShares): Promise<ReadyCost['priority']> {
  if (shares.booting === shares.serving) return { ...shares, how: 'none', ms: 0 };
  const t0 = monotonicMs();
  if (cgroup !== null && setCgroupShares(cgroup, shares.serving)) return { ...shares, how: 'cgroup-file', ms: monotonicMs() - t0 };
  await engineCall(docker, () => container.update({ CpuShares: shares.serving }));
  return { ...shares, how: 'engine-update', ms: monotonicMs() - t0 };
}
