/** ZERODROP_CPU_PRIORITIES parsing (runtime/priorities.ts): pure. */
import { describe, expect, it } from 'vitest';
import { isZerodropError } from '../../../common/src/errors.js';
import { DEFAULT_CPU_PRIORITIES, niceOf, parseCpuPriorities } from '../../src/runtime/priorities.js';

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
