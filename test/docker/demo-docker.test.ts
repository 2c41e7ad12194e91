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
import { expectPassOrStarved } from '../helpers/verdict.js';

const ROOT = join(import.meta.dirname, '../..');
let engine: EngineProbe = { ok: false, reason: 'not probed' };
beforeAll(async () => {
  engine = await probeEngine();
});

describe('zerodrop on --runtime docker', () => {
  // No retry: on a noisy 2-vCPU host one clean-clone run took 8.9 s for the rollout and 12 tries
  // hit the per-try timeout (0 lost, 0 failed). The run now says so itself: INVALID on
  // load.machine-not-starved with the figures, never FAIL (test/helpers/verdict.ts).
  it('runs the demo (rollout v1→v2, zone b crash and recovery) at a reduced rate: PASS (or INVALID only for a starved machine), containers gone afterwards', async (ctx) => {
    if (!engine.ok) ctx.skip(engine.reason);
    const out = tempReportsDir();
    const r = spawnSync(
      process.execPath,
      [join(ROOT, 'bin/zerodrop.js'), 'demo', '--runtime', 'docker', '--rate', '500', '--duration', '18s', '--out', out, '--json'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 200_000,
      },
    );
    const result = JSON.parse(r.stdout) as {
      verdict: string;
      run: { id: string; runtime: string; runtimeChoices?: { what: string; value: string }[] };
      load: { failed: number; lost: number };
      checks: { id: string; status: string; actual: string }[];
    };
    const verdict = expectPassOrStarved(result, r.stderr.slice(-3000));
    expect(r.status).toBe(verdict === 'PASS' ? 0 : 3);
    expect(result.run.runtime).toBe('docker');
    // The default endpoint mode (auto) reaches containers on the bridge here: the zone crash above
    // ran on the path users get, where a crashed container's address stops answering.
    if (process.env['ZERODROP_DOCKER_ENDPOINT'] === undefined) {
      expect(result.run.runtimeChoices?.find((c) => c.what === 'endpoint')?.value).toBe('container (bridge address)');
    }
    expect(result.load.failed).toBe(0);
    expect(result.load.lost).toBe(0);
    const left = await new Docker().listContainers({ all: true, filters: { label: [`zerodrop.run-id=${result.run.id}`] } });
    expect(left).toEqual([]);
  });
});
