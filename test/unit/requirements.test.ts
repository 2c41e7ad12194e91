import { describe, expect, it } from 'vitest';
import { isCi, requirementsOutcome, type Requirement } from '../requirements.js';

const ok = (name: Requirement['name']): Requirement => ({ name, ok: true, detail: `${name} 1.0`, fix: `install ${name}` });
const missing = (name: Requirement['name']): Requirement => ({ name, ok: false, detail: `${name} not installed`, fix: `install ${name}` });

describe('missing real parts: fail on CI, skip loudly elsewhere', () => {
  it('all present: nothing to say', () => {
    expect(requirementsOutcome([ok('prometheus'), ok('haproxy'), ok('docker')], true)).toEqual({ error: null, skipped: [] });
  });

  it('CI=true with haproxy missing: a coded error naming it and its fix', () => {
    const o = requirementsOutcome([ok('prometheus'), missing('haproxy'), ok('docker')], true);
    expect(o.error).toMatch(/^ZD_TEST_PREREQUISITE_MISSING: CI=true and haproxy is missing/);
    expect(o.error).toContain('haproxy: haproxy not installed; fix: install haproxy');
    expect(o.skipped).toEqual([]);
  });

  it('outside CI: no error, one SKIPPED line per missing part', () => {
    const o = requirementsOutcome([missing('prometheus'), ok('haproxy'), missing('docker')], false);
    expect(o.error).toBeNull();
    expect(o.skipped).toEqual([
      'SKIPPED (not CI): prometheus: prometheus not installed; fix: install prometheus',
      'SKIPPED (not CI): docker: docker not installed; fix: install docker',
    ]);
  });

  it('CI is read as GitHub and GitLab set it', () => {
    expect(isCi({ CI: 'true' })).toBe(true);
    expect(isCi({ CI: '1' })).toBe(true);
    expect(isCi({ CI: '' })).toBe(false);
    expect(isCi({})).toBe(false);
  });
});
