/**
 * CPU weights of containers: a booting container ranks below serving ones (the rule the process
 * runtime follows with its priorities), raised to the serving weight once it is Ready. The raise
 * writes the container's cgroup file when its path is known (microseconds), else asks the engine
 * (`docker update --cpu-shares`, a round trip through dockerd and runc: see the bench's docker
 * row). The weights are cpu.shares (cgroup v1; v2 maps them to cpu.weight as runc does).
 *
 * Why these numbers: 1024 is the weight of one process session under the kernel's autogroup, so
 * a serving container weighs what a process replica or the harness weighs; 512 (about nice +3)
 * lets a booting container use idle CPU but yield half of its share to serving replicas and the
 * harness when the machine is busy. Measured: at 128 (about nice +9) on a 2-core machine at load
 * 18, a rollout's containers did not announce their port within the 15 s start timeout (≈ 270 ms
 * of CPU to boot, at under 1 % of the machine); the cost of the ranking is a slower boot only under
 * contention.
 */
import type Docker from 'dockerode';
import { monotonicMs } from '../../../common/src/clock.js';
import { setCgroupShares, type ContainerCgroup } from './docker-cgroup.js';
import { engineCall } from './docker-engine.js';
import { niceWeight } from './priorities.js';
import type { ReadyCost } from './types.js';

export interface CpuShares {
  booting: number;
  serving: number;
}

export const DEFAULT_CPU_SHARES: CpuShares = { booting: 512, serving: 1024 };

/**
 * The shares that keep the harness as far above the containers as its priority asks when its
 * autogroup cannot say so: `shortfall` is what that autogroup lacks (priorities.ts
 * harnessShortfall: -5 in a shared session at 0; 0 when the CLI's own session is at -5), and the
 * containers come down by that weight instead. -5 (3121): 512:1024 → 168:336.
 */
export function sharesBelowHarness(shortfall: number, shares: CpuShares = DEFAULT_CPU_SHARES): CpuShares {
  const scale = (n: number): number => Math.max(2, Math.round((n * niceWeight(0)) / niceWeight(shortfall)));
  return { booting: scale(shares.booting), serving: scale(shares.serving) };
}

/** Raises a Ready container to the serving weight; reports how and what it took. */
export async function raiseToServing(
  docker: Docker,
  container: Docker.Container,
  cgroup: ContainerCgroup | null,
  shares: CpuShares,
): Promise<ReadyCost['priority']> {
  if (shares.booting === shares.serving) return { ...shares, how: 'none', ms: 0 };
  const t0 = monotonicMs();
  if (cgroup !== null && setCgroupShares(cgroup, shares.serving)) return { ...shares, how: 'cgroup-file', ms: monotonicMs() - t0 };
  await engineCall(docker, () => container.update({ CpuShares: shares.serving }));
  return { ...shares, how: 'engine-update', ms: monotonicMs() - t0 };
}
