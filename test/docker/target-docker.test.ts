/**
 * Target mode against a container zerodrop did not start: the sample-app image run by hand
 * (`docker run`), replaced under load the naive way, `docker stop` + `docker run` of the new one
 * on the same port. Nothing serves in between: the client sees it, FAIL (exit 1).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSampleAppImage, SAMPLE_APP_IMAGE } from '../../orchestrator/src/runtime/docker-image.js';
import { probeEngine, type EngineProbe } from '../../orchestrator/test/docker/support.js';
import { checkOf, explain, runYaml } from '../helpers/scenario-run.js';

let engine: EngineProbe = { ok: false, reason: 'not probed' };
const NAME = `zdtest-target-${randomBytes(3).toString('hex')}`;
let port = 0;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** `docker run` argv of the sample-app on 127.0.0.1:<port>, version <v>. */
const runArgs = (v: string): string[] => ['run', '-d', '--rm', '--name', NAME, '-p', `127.0.0.1:${port}:8080`, '-e', `APP_VERSION=${v}`, SAMPLE_APP_IMAGE];

beforeAll(async () => {
  engine = await probeEngine();
  if (!engine.ok) return;
  await ensureSampleAppImage(new Docker());
  port = await freePort();
  const r = spawnSync('docker', runArgs('v1'), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`docker run failed: ${r.stderr}`);
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (x) => x.ok,
        () => false,
      )
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the container never became ready');
}, 240_000);

afterAll(() => {
  spawnSync('docker', ['rm', '-f', NAME], { encoding: 'utf8' });
});

describe('target mode: a container replaced by docker stop + docker run', () => {
  it("drops requests while nothing serves: FAIL, exit 1, in the exec step's window", async (ctx) => {
    if (!engine.ok) ctx.skip(engine.reason);
    const replace = `docker stop -t 5 ${NAME} >/dev/null && docker run ${runArgs('v2').slice(1).join(' ')} >/dev/null`;
    const { result } = await runYaml(`
name: target-docker
target: { url: "http://127.0.0.1:${port}/" }
load: { rate: 150, duration: 8s, warmup: 1s, timeout: 4s }
timeline:
  - { at: 2s, action: exec, command: ["sh", "-c", ${JSON.stringify(replace)}], timeout: 30s }
`);
    expect(result.verdict, explain(result)).toBe('FAIL');
    expect(result.exitCode).toBe(1);
    expect(checkOf(result, 'events.1-exec').status).toBe('pass');
    expect(checkOf(result, 'ledger.no-failed-requests').status).toBe('fail');
    expect(result.disruption.events[0]!.failed).toBeGreaterThan(0);
    // The report attributes them to the exec step (not steady state): what the title says.
    const step = Object.keys(result.failures.byStep).find((k) => k.startsWith('exec sh -c docker stop'));
    expect(step, JSON.stringify(result.failures.byStep)).toBeDefined();
    expect(result.failures.byStep[step!]).toBeGreaterThanOrEqual(result.load.failed / 2);
  });
});
