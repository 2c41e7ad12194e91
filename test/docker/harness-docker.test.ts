/**
 * The harness's own integration cases, on --runtime docker: a negative control caught the same
 * way as with child processes, and a harness SIGKILLed mid-run whose containers the next start
 * removes. (Zone crash and hang on containers: docker-controller.test.ts; the demo through the
 * CLI: demo-docker.test.ts; a user's own image: user-image.test.ts.)
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { probeEngine, type EngineProbe } from '../../orchestrator/test/docker/support.js';
import { checkOf, explain, runYaml, tempReportsDir } from '../helpers/scenario-run.js';

const ROOT = join(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/zerodrop.js');
let engine: EngineProbe = { ok: false, reason: 'not probed' };
beforeAll(async () => {
  engine = await probeEngine();
});
afterEach(() => {
  vi.unstubAllEnvs();
});

const ofRun = (runId: string) => new Docker().listContainers({ all: true, filters: { label: [`zerodrop.run-id=${runId}`] } });

describe('the harness on --runtime docker', () => {
  // On the bridge (auto) and on the host's network (opt-in): either way a replica that drops its
  // requests must be caught. The second rollout stops replicas started under load: on the bridge
  // those joined pod sandboxes, whose drops must be caught as well.
  it.for(['auto', 'host'])(
    'negative control (endpoint %s): abrupt-exit with proxy retries off FAILs with the failures attributed to both rollouts',
    async (endpoint, ctx) => {
      if (!engine.ok) ctx.skip(engine.reason);
      vi.stubEnv('ZERODROP_DOCKER_ENDPOINT', endpoint);
      const { result } = await runYaml(
        `
name: it-docker-neg
runtime: docker
deployment: { replicas: 4, zones: [a, b] }
load: { rate: 400, duration: 14s, warmup: 2s, timeout: 4s, requests: [{ path: "/", weight: 3 }, { path: "/work?ms=20", weight: 1 }] }
timeline:
  - { at: 3s, action: rollout, version: v2 }
  - { at: 8s, action: rollout, version: v3 }
`,
        { appFaults: ['abrupt-exit'], noRetries: true },
      );
      expect(result.verdict, explain(result)).toBe('FAIL');
      expect(result.exitCode).toBe(1);
      expect(checkOf(result, 'ledger.no-failed-requests').status).toBe('fail');
      const steps = Object.keys(result.failures.byStep);
      expect(
        steps.some((s) => s.includes('rollout v1→v2')),
        steps.join(', '),
      ).toBe(true);
      expect(
        steps.some((s) => s.includes('rollout v2→v3')),
        steps.join(', '),
      ).toBe(true);
      expect(result.run.runtimeChoices?.find((c) => c.what === 'endpoint')?.value).toMatch(endpoint === 'host' ? /^host/ : /^container/);
      // On the bridge the v2 replicas (started under load, stopped by the v3 rollout) joined pod sandboxes.
      const sandboxes = result.run.runtimeChoices?.find((c) => c.what === 'pod sandboxes')?.value ?? '';
      if (endpoint === 'auto') expect(Number(/(\d+) joined by a replica/.exec(sandboxes)?.[1] ?? 0), sandboxes).toBeGreaterThanOrEqual(4);
      else expect(sandboxes).toBe('none');
      expect(await ofRun(result.run.id)).toEqual([]);
    },
  );

  it('a harness SIGKILLed mid-run leaves its containers; the next run removes them before it starts its own', async (ctx) => {
    if (!engine.ok) ctx.skip(engine.reason);
    const out = tempReportsDir();
    const child = spawn(process.execPath, [BIN, 'run', 'scenarios/rollout.yaml', '--runtime', 'docker', '--rate', '200', '--out', out], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    const runId = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "deployment ready" within 60 s:\n${text}`)), 60_000);
      child.stderr.on('data', (c: Buffer) => {
        text += c.toString('utf8');
        const id = /run (\S+) →/.exec(text)?.[1];
        if (id && /deployment ready/.test(text)) {
          clearTimeout(timer);
          resolve(id);
        }
      });
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect((await ofRun(runId)).length, 'containers outlive a SIGKILLed harness (no pdeathsig for them)').toBeGreaterThan(0);
    // The next start of any docker run reaps containers whose owner process is dead.
    const next = spawnSync(
      process.execPath,
      [BIN, 'run', 'scenarios/rollout.yaml', '--runtime', 'docker', '--rate', '100', '--duration', '4s', '--out', out, '-q'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(next.status, next.stderr.slice(-2000)).not.toBeNull();
    expect(await ofRun(runId)).toEqual([]);
  });
});
