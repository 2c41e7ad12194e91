/**
 * A starved machine is not blamed on the service. The run samples the machine every ~200 ms
 * (harness/src/run/machine-sampler.ts). A sample is *starved* when the hypervisor stole ≥ 10 % of
 * the CPUs, or the driver's or the proxy's event loop ran ≥ 100 ms late: the instrument itself
 * could not keep time. A per-try timeout or a late send that coincides with a starved sample
 * makes the run INVALID ("the machine, not the service"), with the figures; a retry threshold
 * whose every charged try is such a timeout is not judged either. Pure functions of plain data.
 */
import type { Check } from '../../result/types.js';
import type { MachineSample } from '../../run/machine-sampler.js';

export const STARVED_STEAL = 0.1;
export const STARVED_LOOP_DELAY_MS = 100;

/** A machine sample (run/machine-sampler.ts) with `t` in ms from the run's origin. */
export type MachineSampleView = MachineSample;

export interface MachineInput {
  sampleMs: number;
  cpus: number;
  samples: readonly MachineSampleView[];
  /** Per-try timeouts not put down to a zone failure (ms on the run's clock). */
  tryTimeouts: readonly number[];
  /** Sends later than the allowed lateness: [intended, actually sent] (ms). */
  lateSends: ReadonlyArray<readonly [number, number]>;
  perTryTimeoutMs: number;
}

export function isStarved(s: MachineSampleView): boolean {
  return s.steal >= STARVED_STEAL || (s.driverLoopDelayMs ?? 0) >= STARVED_LOOP_DELAY_MS || (s.proxyLoopDelayMs ?? 0) >= STARVED_LOOP_DELAY_MS;
}

/** Starved samples, as the spans of time they cover. */
export function starvedSpans(input: Pick<MachineInput, 'samples' | 'sampleMs'>): Array<[number, number]> {
  return input.samples.filter(isStarved).map((s) => [s.t - input.sampleMs, s.t]);
}

/** Whether [from, to] overlaps a starved span. */
export function overlapsStarved(spans: ReadonlyArray<readonly [number, number]>, from: number, to: number): boolean {
  return spans.some(([a, b]) => a <= to && b >= from);
}

/** A per-try timeout at t was armed perTryTimeoutMs before: starvation anywhere in between explains it. */
export function timeoutStarved(spans: ReadonlyArray<readonly [number, number]>, t: number, perTryTimeoutMs: number): boolean {
  return overlapsStarved(spans, t - perTryTimeoutMs, t);
}

const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;
const max = (xs: Array<number | null>): number | null => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length === 0 ? null : Math.max(...v);
};

export function machineCheck(input: MachineInput): { check: Check; spans: Array<[number, number]> } {
  const spans = starvedSpans(input);
  const s = input.samples;
  const figures = {
    samples: s.length,
    starvedSamples: spans.length,
    maxSteal: max(s.map((x) => x.steal)) ?? 0,
    maxBusy: max(s.map((x) => x.busy)) ?? 0,
    maxDriverLoopDelayMs: max(s.map((x) => x.driverLoopDelayMs)) ?? 0,
    maxProxyLoopDelayMs: max(s.map((x) => x.proxyLoopDelayMs)) ?? 0,
    maxHarnessCores: max(s.map((x) => x.harnessCores)) ?? 0,
    maxDriverCores: max(s.map((x) => x.driverCores)) ?? 0,
    maxProxyCores: max(s.map((x) => x.proxyCores)) ?? 0,
    maxDataPlaneCores: max(s.map((x) => x.dataPlaneCores)) ?? 0,
    maxReplicaCores: max(s.map((x) => x.replicaCores)) ?? 0,
    maxBootingCores: max(s.map((x) => x.bootingCores)) ?? 0,
  };
  const timeouts = input.tryTimeouts.filter((t) => timeoutStarved(spans, t, input.perTryTimeoutMs)).length;
  const late = input.lateSends.filter(([intended, sent]) => overlapsStarved(spans, intended, sent)).length;
  const text =
    `${figures.starvedSamples} of ${figures.samples} samples starved (every ${input.sampleMs} ms, ${input.cpus} CPUs): ` +
    `steal max ${pct(figures.maxSteal)}, CPUs busy max ${pct(figures.maxBusy)}, event-loop delay max driver ${figures.maxDriverLoopDelayMs.toFixed(0)} ms / proxy ${figures.maxProxyLoopDelayMs.toFixed(0)} ms, ` +
    `cores max harness ${figures.maxHarnessCores.toFixed(2)} (driver ${figures.maxDriverCores.toFixed(2)}, proxy ${figures.maxProxyCores.toFixed(2)}) · data plane ${figures.maxDataPlaneCores.toFixed(2)} · replicas ${figures.maxReplicaCores.toFixed(2)} · booting ${figures.maxBootingCores.toFixed(2)}; ` +
    `per-try timeouts while starved ${timeouts} of ${input.tryTimeouts.length}, late sends while starved ${late} of ${input.lateSends.length}`;
  const status: Check['status'] = s.length === 0 ? 'skip' : timeouts + late > 0 ? 'invalid' : 'pass';
  const check: Check = {
    id: 'load.machine-not-starved',
    group: 'load',
    title: 'The machine kept the instrument fed (no per-try timeout or late send while it was starved)',
    status,
    expected: `no per-try timeout or late send while the machine was starved (steal ≥ ${pct(STARVED_STEAL)}, or driver/proxy event loop ≥ ${STARVED_LOOP_DELAY_MS} ms late)`,
    actual: s.length === 0 ? 'no machine samples (not Linux, or /proc unreadable)' : text,
    numbers: { ...figures, starvedTimeouts: timeouts, starvedLateSends: late },
  };
  if (status === 'invalid') {
    check.broken = `the machine starved the instrument: ${timeouts} per-try timeouts and ${late} late sends while CPU steal reached ${pct(figures.maxSteal)} or an event loop ran up to ${Math.max(figures.maxDriverLoopDelayMs, figures.maxProxyLoopDelayMs).toFixed(0)} ms late`;
    check.explanation =
      'the machine, not the service: the driver or the proxy could not keep time (CPU steal or a starved event loop) exactly when tries timed out or sends went late; rerun on a quieter machine or at a lower --rate';
  }
  return { check, spans };
}

/**
 * A retry threshold that FAILed only on per-try timeouts that each coincide with a starved
 * machine measured the machine: INVALID, with why. Other FAILs stand.
 */
export function excuseStarvedRetries(
  check: Check,
  charged: ReadonlyArray<{ t: number; reason: string }>,
  spans: ReadonlyArray<readonly [number, number]>,
  perTryTimeoutMs: number,
): void {
  if (check.status !== 'fail' || charged.length === 0) return;
  if (!charged.every((f) => f.reason === 'timeout' && timeoutStarved(spans, f.t, perTryTimeoutMs))) return;
  check.status = 'invalid';
  check.broken = `${check.id} not judged: its failed tries were per-try timeouts on a starved machine`;
  check.explanation = `not judged: every charged try was a per-try timeout while the machine was starved (load.machine-not-starved), the machine, not the service${check.explanation ? `; ${check.explanation}` : ''}`;
}
