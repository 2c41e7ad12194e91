/**
 * CPU weights of containers: a booting container ranks below serving ones (the rule the process
 * runtime follows with its priorities), raised to the serving weight once it is Ready. The raise
 * writes the container's cgroup file when its path is known (microseconds), else asks the engine
 * (`docker update --cpu-shares`, a round trip through dockerd and runc: see the bench's docker
 * row). The weights are cpu.shares (cgroup v1; v2 maps them to cpu.weight as runc does).
 *
 * Why these numbers: the weights a process replica's session gets in each phase (priorities.ts:
 * booting at nice 10, 110; serving at nice 0, 1024, what one process session or the harness at
 * nice 0 weighs), so a container ranks as a process replica does. A booting container uses idle
 * CPU, and yields to serving replicas and the harness when the machine is busy. Measured on the
 * 2-core VM, the demo at 12,500 req/s on containers: booting at 512, the driver fell 1,025 ms
 * behind during the rollout (INVALID); at 110, PASS 2 of 2, the rollout's replicas Ready in a few
 * seconds. (An earlier version, whose boots also made a network namespace each, saw containers at
 * 128 miss the 15 s start timeout at load 18: the cost of the ranking is a slower boot only under
 * contention.)
 */
import type Docker from 'dockerode';
import { monotonicMs } from '../../../common/src/clock.js';
import { setCgroupShares, type ContainerCgroup } from './docker-cgroup.js';
import { engineCall } from './docker-engine.js';
import { DEFAULT_CPU_PRIORITIES, niceWeight } from './priorities.js';
import type { ReadyCost } from './types.js';

export interface CpuShares {
  booting: number;
  serving: number;
}

export const DEFAULT_CPU_SHARES: CpuShares = sharesOfNice(DEFAULT_CPU_PRIORITIES);

/** The cpu.shares of a container in each phase: the weight of a process session at that phase's nice. */
export function sharesOfNice(nice: { booting: number; serving: number }): CpuShares {
  return { booting: niceWeight(nice.booting), serving: niceWeight(nice.serving) };
}

/**
 * The shares that keep the harness as far above the containers as its priority asks when its
 * autogroup cannot say so: `shortfall` is what that autogroup lacks (priorities.ts
 * harnessShortfall: -5 in a shared session at 0; 0 when the CLI's own session is at -5), and the
 * containers come down by that weight instead. -5 (3121): 110:1024 → 36:336.
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
