import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { highestPassingRate } from '../../src/run/passing-rates.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function write(root: string, rel: string, r: { verdict: string; rate: number; name?: string; runtime?: string; host?: string }): void {
  mkdirSync(join(root, rel), { recursive: true });
  const id = rel.split('/').at(-1)!;
  const result = {
    verdict: r.verdict,
    run: {
      id,
      endedAt: '2026-12-04T12:00:00.000Z',
      runtime: r.runtime ?? 'process',
      scenario: { name: r.name ?? 'demo' },
      machine: { hostname: r.host ?? 'box' },
    },
    load: { targetRate: r.rate },
  };
  writeFileSync(join(root, rel, 'result.json'), JSON.stringify(result));
}

describe('the highest rate a scenario PASSed at on this machine (issue 12 item 10)', () => {
  it('takes runs and bench ceiling probes, PASS only, same scenario, runtime and host', () => {
    const root = mkdtempSync(join(tmpdir(), 'zd-rates-'));
    dirs.push(root);
    write(root, 'demo-20261204-100000-aaaa', { verdict: 'PASS', rate: 2000 });
    write(root, 'demo-20261204-110000-bbbb', { verdict: 'FAIL', rate: 9000 });
    write(root, 'demo-20261204-110500-cccc', { verdict: 'INVALID', rate: 8000 });
    write(root, 'demo-20261204-111000-dddd', { verdict: 'PASS', rate: 7000, runtime: 'docker' });
    write(root, 'demo-20261204-112000-eeee', { verdict: 'PASS', rate: 9500, host: 'another-box' });
    write(root, 'rollout-20261204-113000-ffff', { verdict: 'PASS', rate: 9900, name: 'rollout' });
    write(root, 'bench/20261204-120000-probes/demo-bench-20261204-120100-gggg', { verdict: 'PASS', rate: 4700 });
    const best = highestPassingRate(root, 'demo', 'process', 'box');
    expect(best).toMatchObject({ rate: 4700, runId: 'demo-bench-20261204-120100-gggg' });
    expect(best?.file).toContain('-probes');
    expect(highestPassingRate(root, 'demo', 'docker', 'box')?.rate).toBe(7000);
  });

  it('nothing on record (or no directory): null, never a made-up rate', () => {
    expect(highestPassingRate(join(tmpdir(), 'zd-rates-does-not-exist'), 'demo', 'process', 'box')).toBeNull();
  });
});
