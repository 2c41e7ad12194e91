/** ZERODROP_CPU_PRIORITIES parsing and the weights that rank containers below the harness (runtime/priorities.ts): pure. */
import { describe, expect, it } from 'vitest';
import { isZerodropError } from '../../../common/src/errors.js';
import { DEFAULT_CPU_SHARES, sharesBelowHarness, sharesOfNice } from '../../src/runtime/docker-priority.js';
import { DEFAULT_CPU_PRIORITIES, autogroupNiceOf, niceOf, niceWeight, parseCpuPriorities } from '../../src/runtime/priorities.js';
import { createRuntime } from '../../src/runtime/select.js';

describe('parseCpuPriorities', () => {
  it('the defaults when unset or on, off only when asked, a subset overrides the defaults', () => {
    expect(parseCpuPriorities(undefined)).toEqual(DEFAULT_CPU_PRIORITIES);
    expect(parseCpuPriorities('')).toEqual(DEFAULT_CPU_PRIORITIES);
    expect(parseCpuPriorities('off')).toBeNull();
    expect(parseCpuPriorities('on')).toEqual(DEFAULT_CPU_PRIORITIES);
    expect(parseCpuPriorities('booting=15, harness=0')).toEqual({ ...DEFAULT_CPU_PRIORITIES, booting: 15, harness: 0 });
  });

  it.each(['booting', 'default', 'booting=20', 'serving=-21', 'cpu=3', 'booting=1.5'])('%s is a coded usage error naming the variable and the fix', (raw) => {
    let err: unknown;
    try {
      parseCpuPriorities(raw);
    } catch (e) {
      err = e;
    }
    expect(isZerodropError(err) && err.code).toBe('ZD_BAD_USAGE');
    expect(String((err as Error).message)).toContain('ZERODROP_CPU_PRIORITIES');
  });

  it('niceOf reads field 19 of /proc/PID/stat', () => {
    expect(Number.isInteger(niceOf(process.pid))).toBe(true);
  });
});

describe('containers below the harness', () => {
  it("niceWeight is the kernel's table: 1024 at 0, 3121 at -5, the ends clamped", () => {
    expect(niceWeight(0)).toBe(1024);
    expect(niceWeight(-5)).toBe(3121);
    expect(niceWeight(5)).toBe(335);
    expect(niceWeight(-30)).toBe(88761);
    expect(niceWeight(30)).toBe(15);
  });

  it('the default shares are the weights of a process session at the default nice values (booting 10, serving 0): 110:1024', () => {
    expect(DEFAULT_CPU_SHARES).toEqual({ booting: 110, serving: 1024 });
    expect(sharesOfNice({ booting: 5, serving: -2 })).toEqual({ booting: 335, serving: 1586 });
  });

  it('the default shares come down by the weight of the harness: 110:1024 → 36:336 at -5, unchanged at 0', () => {
    expect(sharesBelowHarness(0)).toEqual(DEFAULT_CPU_SHARES);
    expect(sharesBelowHarness(-5)).toEqual({ booting: 36, serving: 336 });
    expect(sharesBelowHarness(-20, { booting: 2, serving: 2 })).toEqual({ booting: 2, serving: 2 });
  });

  it('the docker runtime lowers them by what the autogroup of the harness lacks, unless ZERODROP_DOCKER_CPU_SHARES says otherwise', () => {
    // A test worker does not lead its session: its autogroup stays at the session's nice.
    const lacks = -5 - autogroupNiceOf(process.pid);
    const expected = sharesBelowHarness(lacks);
    const shares = (booting = 10): string | undefined =>
      createRuntime('docker', { runId: 'r', priorities: { booting, serving: 0, harness: -5 } })
        .choices?.()
        .find((c) => c.what === 'cpu shares')?.value;
    const saved = process.env.ZERODROP_DOCKER_CPU_SHARES;
    try {
      delete process.env.ZERODROP_DOCKER_CPU_SHARES;
      expect(shares()).toBe(`booting ${expected.booting} → serving ${expected.serving}`);
      // ZERODROP_CPU_PRIORITIES's booting nice ranks a booting container as it ranks a booting process.
      const at5 = sharesBelowHarness(lacks, sharesOfNice({ booting: 5, serving: 0 }));
      expect(at5.booting).toBeGreaterThan(expected.booting);
      expect(shares(5)).toBe(`booting ${at5.booting} → serving ${at5.serving}`);
      process.env.ZERODROP_DOCKER_CPU_SHARES = '1024:1024';
      expect(shares()).toBe('booting 1024 → serving 1024');
    } finally {
      if (saved === undefined) delete process.env.ZERODROP_DOCKER_CPU_SHARES;
      else process.env.ZERODROP_DOCKER_CPU_SHARES = saved;
    }
  });
});
