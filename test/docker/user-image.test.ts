/**
 * Issue 5, users' own images: `target.image: myapp:v1`, a rollout to `myapp:v2` and a zone crash,
 * through the real runner and verifier. The images are built offline here the way a user would:
 * `docker build` FROM the node base zerodrop makes from the host's node binary, plus
 * examples/byo-server.mjs (examples/byo-image/Dockerfile). No metrics endpoint: the replicas'
 * side is reconciled from the proxy's counts.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Docker from 'dockerode';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureNodeBaseImage } from '../../orchestrator/src/runtime/docker-image.js';
import { probeEngine, type EngineProbe } from '../../orchestrator/test/docker/support.js';
import { checkOf, explain, runYaml } from '../helpers/scenario-run.js';

const ROOT = join(import.meta.dirname, '../..');
const IMAGE = 'zerodrop-test/myapp';
let engine: EngineProbe = { ok: false, reason: 'not probed' };

function build(base: string, version: string): void {
  const r = spawnSync(
    'docker',
    [
      'build',
      '-q',
      '--build-arg',
      `BASE=${base}`,
      '--build-arg',
      `VERSION=${version}`,
      '-t',
      `${IMAGE}:${version}`,
      '-f',
      join(ROOT, 'examples/byo-image/Dockerfile'),
      join(ROOT, 'examples'),
    ],
    {
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  if (r.status !== 0) throw new Error(`docker build ${IMAGE}:${version} failed: ${r.stderr}`);
}

beforeAll(async () => {
  engine = await probeEngine();
  if (!engine.ok) return;
  const base = await ensureNodeBaseImage(new Docker());
  build(base.image, 'v1');
  build(base.image, 'v2');
});

describe('a user image on --runtime docker', () => {
  it('myapp:v1 → myapp:v2 under load, then a zone crash: PASS, every replica on v2, no container left', async (ctx) => {
    if (!engine.ok) ctx.skip(engine.reason);
    const { result } = await runYaml(`
name: it-user-image
runtime: docker
target:
  image: ${IMAGE}:v1
  containerPort: 8080
  readinessPath: /ready
  livenessPath: /live
  metricsPath: null
deployment: { replicas: 4, zones: [a, b], zoneFailureDetection: 1s }
load: { rate: 300, duration: 14s, warmup: 2s }
timeline:
  - { at: 3s, action: rollout, version: v2, image: ${IMAGE}:v2 }
  - { at: 9s, action: crash-zone, zone: a }
`);
    expect(result.verdict, explain(result)).toBe('PASS');
    expect(result.load.failed).toBe(0);
    expect(checkOf(result, 'events.final-version').status).toBe('pass');
    const v2 = result.replicas.filter((r) => r.version === 'v2');
    expect(v2.length).toBeGreaterThanOrEqual(4);
    expect(v2.every((r) => r.zone === 'a' || r.zone === 'b')).toBe(true);
    const left = await new Docker().listContainers({ all: true, filters: { label: [`zerodrop.run-id=${result.run.id}`] } });
    expect(left).toEqual([]);
  });
});
