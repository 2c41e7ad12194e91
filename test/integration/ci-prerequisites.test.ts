/**
 * Item: CI never drops proof silently. A nested vitest over one tiny unit file, with HAProxy made
 * missing through ZERODROP_HAPROXY_BIN: with CI=true the run fails naming it; without, it passes
 * and the skip is printed after the summary.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VITEST = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url));

function nestedRun(ci: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [VITEST, 'run', '--project', 'unit', 'test/unit/requirements.test.ts'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, CI: ci, ZERODROP_HAPROXY_BIN: '/nonexistent/haproxy', NO_COLOR: '1' },
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('a missing haproxy', () => {
  it('with CI=true fails the test run, naming haproxy and the fix', () => {
    const r = nestedRun('true');
    expect(r.status, r.out).not.toBe(0);
    expect(r.out).toContain('ZD_TEST_PREREQUISITE_MISSING');
    expect(r.out).toContain('haproxy: /nonexistent/haproxy is not installed');
  });

  it('outside CI passes and prints the skip after the summary', () => {
    const r = nestedRun('');
    expect(r.status, r.out).toBe(0);
    const summary = r.out.lastIndexOf('Test Files');
    const skip = r.out.lastIndexOf('SKIPPED (not CI): haproxy');
    expect(summary, r.out).toBeGreaterThan(0);
    expect(skip, r.out).toBeGreaterThan(summary);
  });
});
