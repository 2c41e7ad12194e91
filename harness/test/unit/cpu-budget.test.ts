import { describe, expect, it } from 'vitest';
import type { MachineSample } from '../../src/run/machine-sampler.js';
import { cpuBudget, describeCpuBudget } from '../../src/verify/cpu-budget.js';

const sample = (t: number, over: Partial<MachineSample> = {}): MachineSample => ({
  t,
  busy: 0.5,
  steal: 0,
  harnessCores: 0.4,
  driverCores: 0.1,
  proxyCores: 0.2,
  dataPlaneCores: null,
  replicaCores: 0.3,
  bootingCores: 0,
  driverLoopDelayMs: 1,
  proxyLoopDelayMs: 1,
  ...over,
});

/** 1,000 req/s sent evenly from t = 0 to t = 2,000 ms (monotonic ms, the samples' clock). */
const sends = (i: number): number => i;

describe('cpuBudget: µs of CPU per request by part, from the machine samples', () => {
  it('divides each part by the requests sent inside the sampled span; the rest is kernel & rest', () => {
    // 5 samples of 200 ms: the span is (0, 1000]; 1,000 requests in it.
    const b = cpuBudget({ sampleMs: 200, cpus: 2, samples: [200, 400, 600, 800, 1000].map((t) => sample(t)) }, sends, 2000)!;
    expect(b.requests).toBe(1000);
    expect(b.spanMs).toBe(1000);
    // busy 0.5 × 2 CPUs × 1 s = 1 CPU-second / 1,000 requests = 1,000 µs
    expect(b.totalUs).toBeCloseTo(1000);
    expect(b.driverUs).toBeCloseTo(100);
    expect(b.dataPlaneUs).toBeCloseTo(200); // the Node proxy thread
    expect(b.harnessRestUs).toBeCloseTo(100); // 0.4 − 0.1 − 0.2
    expect(b.replicasUs).toBeCloseTo(300);
    expect(b.bootingUs).toBeCloseTo(0);
    expect(b.kernelAndRestUs).toBeCloseTo(300);
    expect(describeCpuBudget(b)).toContain('1000 µs of CPU per request all-in (goal ≤ 60)');
  });

  it("HAProxy's own process is the data plane when there is one", () => {
    const b = cpuBudget(
      { sampleMs: 200, cpus: 2, samples: [200, 400].map((t) => sample(t, { proxyCores: null, dataPlaneCores: 0.25, harnessCores: 0.1 })) },
      sends,
      2000,
    )!;
    expect(b.dataPlaneUs).toBeCloseTo(250);
    expect(b.harnessRestUs).toBeCloseTo(0);
  });

  it('a part measured by only some samples is scaled to the span; one no sample measured is null and lands in kernel & rest', () => {
    const samples = [sample(200, { driverCores: null }), sample(400), sample(600), sample(800), sample(1000)].map((x) => ({ ...x, replicaCores: null }));
    const b = cpuBudget({ sampleMs: 200, cpus: 2, samples }, sends, 2000)!;
    expect(b.driverUs).toBeCloseTo(100); // 0.1 cores over 0.8 s, scaled to 1 s
    expect(b.replicasUs).toBeNull();
    expect(b.kernelAndRestUs).toBeCloseTo(1000 - 100 - 200 - 100 - 0);
    expect(describeCpuBudget(b)).toContain('replicas not measured');
  });

  it('no samples, or no request inside them: no budget (never a made-up figure)', () => {
    expect(cpuBudget({ sampleMs: 200, cpus: 2, samples: [] }, sends, 2000)).toBeNull();
    expect(cpuBudget({ sampleMs: 200, cpus: 2, samples: [sample(5000)] }, sends, 2000)).toBeNull();
  });
});
