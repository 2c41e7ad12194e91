/**
 * The id check in both forms: a service that echoes keeps ledger.ids-echoed; one that does not
 * (declared or detected by the data plane) gets ledger.ids-attested, and a mismatch still FAILs it.
 */
import { describe, expect, it } from 'vitest';
import { Outcome } from '../../src/driver/types.js';
import { verifyRun } from '../../src/verify/verify.js';
import { passingInput } from '../fixtures/verify-input.js';

const idCheck = (r: ReturnType<typeof verifyRun>) => r.checks.find((c) => c.id.startsWith('ledger.ids-'));

describe('verifyRun: ids attested by the data plane', () => {
  it('a non-echoing service detected by the data plane PASSes with ledger.ids-attested', () => {
    const f = passingInput();
    f.input.proxyStats.ids = { mode: 'attest', source: 'detected', attested: 10_000 };
    const r = verifyRun(f.input);
    expect(r.verdict).toBe('PASS');
    const c = idCheck(r);
    expect(c?.id).toBe('ledger.ids-attested');
    expect(c?.status).toBe('pass');
    expect(c?.title).toContain('ids attested by the data plane');
    expect(c?.actual).toBe('id mismatches = 0; 10,000 ids attested by the data plane (the service does not echo x-zerodrop-id: detected from its first 2xx)');
  });

  it('negative control: an attested id that comes back wrong FAILs ledger.ids-attested, exit 1', () => {
    const f = passingInput();
    f.input.proxyStats.ids = { mode: 'attest', source: 'declared', attested: 9_999 };
    f.ledger.outcome[2005] = Outcome.IdMismatch;
    const r = verifyRun(f.input);
    expect(r.verdict).toBe('FAIL');
    expect(r.exitCode).toBe(1);
    const c = idCheck(r);
    expect(c?.id).toBe('ledger.ids-attested');
    expect(c?.status).toBe('fail');
    expect(c?.actual).toContain('declared with target.echoesId: false');
  });

  it('an echoing service keeps the end-to-end check, and says it was detected', () => {
    const f = passingInput();
    f.input.proxyStats.ids = { mode: 'echo', source: 'detected', attested: 0 };
    const c = idCheck(verifyRun(f.input));
    expect(c?.id).toBe('ledger.ids-echoed');
    expect(c?.actual).toBe('id mismatches = 0 (the service echoes x-zerodrop-id: detected from its first 2xx)');
  });
});
