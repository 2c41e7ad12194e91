/**
 * Issue 5 end to end: the demo scenario on the docker runtime, through the CLI, at a reduced rate.
 * Containers are killed (zone crash) and reaped; nothing labelled with the run is left.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Docker from 'dockerode';
import { beforeAll, describe, expect, it } from 'vitest';
import { probeEngine, type EngineProbe } from '../../orchestrator/test/docker/support.js';
import { tempReportsDir } from '../helpers/scenario-run.js';

const ROOT = join(import.meta.dirname, '../..');
let engine: EngineProbe = { ok: false, reason: 'not probed' };
beforeAll(async () => {
  engine = await probeEngine();
});

describe('zerodrop on --runtime docker', () => {
  // Retried once, like the process-runtime demo test (cli.test.ts): on a noisy 2-vCPU host one
  // clean-clone run took 8.9 s for the rollout (5.2–5.5 s in the docker controller test) and the demo's "no retries
  // during a rollout" threshold FAILed on 12 per-try retries, 0 lost, 0 failed. A real
  // regression fails both tries; the drop assertions below are unchanged.
  it('runs the demo (rollout v1→v2, zone b crash and recovery) at a reduced rate: PASS, containers gone afterwards', { retry: 1 }, async (ctx) => {
    if (!engine.ok) ctx.skip(engine.reason);
    const out = tempReportsDir();
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/zerodrop.js'), 'demo', '--runtime', 'docker', '--rate', '500', '--duration', '18s', '--out', out, '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 200_000,
    });
    const result = JSON.parse(r.stdout) as { verdict: string; run: { id: string; runtime: string }; load: { failed: number; lost: number }; checks: { id: string; status: string; actual: string }[] };
    const bad = result.checks.filter((c) => c.status !== 'pass' && c.status !== 'skip').map((c) => `${c.id}: ${c.actual}`);
    expect(result.verdict, `${bad.join('\n')}\n${r.stderr.slice(-3000)}`).toBe('PASS');
    expect(r.status).toBe(0);
    expect(result.run.runtime).toBe('docker');
    expect(result.load.failed).toBe(0);
    expect(result.load.lost).toBe(0);
    const left = await new Docker().listContainers({ all: true, filters: { label: [`zerodrop.run-id=${result.run.id}`] } });
    expect(left).toEqual([]);
  });
});
