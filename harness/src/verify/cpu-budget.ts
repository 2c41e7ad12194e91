/**
 * The CPU budget per request (issue 12): where a run's CPU went, in µs per request sent, from the
 * machine samples taken every ~200 ms during the load (harness/src/run/machine-sampler.ts).
 *
 *   driver        the driver thread
 *   data plane    the Node proxy thread, or HAProxy's process
 *   replicas      the serving replicas' processes (booting ones apart: a rollout's boots)
 *   harness rest  the harness process less the driver and proxy threads (orchestrator, probes, sampler)
 *   kernel & rest what the machine's CPUs did that no process above accounts for (loopback TCP in
 *                 softirq, Docker's engine and shims, everything else running on the box)
 *
 * A part that was not measured (e.g. replica processes on the Docker runtime) is null, and its
 * CPU lands in "kernel & rest", so the total is always the machine's. Pure.
 */
import type { MachineSample, MachineSamples } from '../run/machine-sampler.js';
import type { CpuBudget } from '../result/types.js';

/** The demo's goal: 20,000 req/s on 2 cores leaves 60 µs per request with 0.8 of the machine to spare for transients. */
export const CPU_BUDGET_GOAL_US = 60;

type Part = 'driverUs' | 'dataPlaneUs' | 'replicasUs' | 'bootingUs' | 'harnessRestUs';

/**
 * @param sentAt actual send times (monotonic ms, the samples' clock) of every request written; only
 *   those inside the sampled span count, so warm-up and drain do not dilute the figures.
 */
export function cpuBudget(machine: MachineSamples, sentAt: (i: number) => number, length: number): CpuBudget | null {
  const s = machine.samples;
  if (s.length === 0 || machine.cpus <= 0) return null;
  const from = s[0]!.t - machine.sampleMs;
  const to = s[s.length - 1]!.t;
  let requests = 0;
  for (let i = 0; i < length; i++) {
    const t = sentAt(i);
    if (t > from && t <= to) requests++;
  }
  if (requests === 0) return null;

  // CPU-seconds per part over the samples that measured it, and the seconds those covered: a thread's
  // first reading comes a sample or two late, so a part is scaled up to the whole span; a part no
  // sample measured is null.
  const parts: Record<Part, { cpu: number; seconds: number }> = {
    driverUs: { cpu: 0, seconds: 0 },
    dataPlaneUs: { cpu: 0, seconds: 0 },
    replicasUs: { cpu: 0, seconds: 0 },
    bootingUs: { cpu: 0, seconds: 0 },
    harnessRestUs: { cpu: 0, seconds: 0 },
  };
  const add = (part: Part, cores: number | null, seconds: number): void => {
    if (cores === null) return;
    parts[part].cpu += cores * seconds;
    parts[part].seconds += seconds;
  };
  let busy = 0;
  let span = 0;
  let prevT = from;
  for (const x of s) {
    const seconds = Math.max(0, x.t - prevT) / 1000;
    prevT = x.t;
    span += seconds;
    busy += x.busy * machine.cpus * seconds;
    add('driverUs', x.driverCores, seconds);
    add('dataPlaneUs', dataPlaneCores(x), seconds);
    add('replicasUs', x.replicaCores, seconds);
    add('bootingUs', x.bootingCores, seconds);
    add('harnessRestUs', x.driverCores === null ? null : Math.max(0, x.harnessCores - x.driverCores - (x.proxyCores ?? 0)), seconds);
  }
  const perRequest = (cpuSeconds: number): number => (cpuSeconds * 1e6) / requests;
  const scaled = (p: { cpu: number; seconds: number }): number | null => (p.seconds === 0 ? null : perRequest((p.cpu * span) / p.seconds));
  const totalUs = perRequest(busy);
  const measured = {
    driverUs: scaled(parts.driverUs),
    dataPlaneUs: scaled(parts.dataPlaneUs),
    replicasUs: scaled(parts.replicasUs),
    bootingUs: scaled(parts.bootingUs),
    harnessRestUs: scaled(parts.harnessRestUs),
  };
  const accounted = Object.values(measured).reduce<number>((n, v) => n + (v ?? 0), 0);
  return {
    requests,
    spanMs: to - from,
    cpus: machine.cpus,
    ...measured,
    kernelAndRestUs: Math.max(0, totalUs - accounted),
    totalUs,
    goalUs: CPU_BUDGET_GOAL_US,
  };
}

/** The data plane's CPU: the Node proxy's thread, or HAProxy's own process. */
function dataPlaneCores(x: MachineSample): number | null {
  return x.dataPlaneCores ?? x.proxyCores;
}

/** "62 µs all-in: driver 18 · data plane 20 · …", parts not measured said so. */
export function describeCpuBudget(b: CpuBudget): string {
  return `${b.totalUs.toFixed(0)} µs of CPU per request all-in (goal ≤ ${b.goalUs}): ${cpuBudgetParts(b)}`;
}

/** "driver 18 · data plane 20 · … · kernel & rest 7", each figure followed by `unit`; a part not measured says so. */
export function cpuBudgetParts(b: CpuBudget, unit = ''): string {
  const parts: Array<[string, number | null]> = [
    ['driver', b.driverUs],
    ['data plane', b.dataPlaneUs],
    ['replicas', b.replicasUs],
    ['booting replicas', b.bootingUs],
    ['harness rest', b.harnessRestUs],
    ['kernel & rest', b.kernelAndRestUs],
  ];
  return parts.map(([name, v]) => `${name} ${v === null ? 'not measured' : `${v.toFixed(0)}${unit}`}`).join(' · ');
}
