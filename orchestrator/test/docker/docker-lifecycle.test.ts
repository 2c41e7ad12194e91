/**
 * The Pod lifecycle on the docker runtime, with a real container: the stop signal is the
 * template's (container StopSignal and the signal `stop` sends), and a preStop exec runs inside
 * the container (docker exec) with its exit code and stderr, or "command not found".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { DockerRuntime } from '../../src/runtime/docker.js';
import { IMAGE_NODE_PATH, nodeBaseImage } from '../../src/runtime/docker-image.js';
import type { PodTemplate } from '../../src/spec.js';
import { launchOf, probeEngine, removeRuns, sampleAppTemplate, testRunId, waitFor200 } from './support.js';

const engine = await probeEngine();
const docker = new Docker();
const runId = testRunId('lifecycle');

// Serves on $PORT; says which signal stopped it.
const SERVER = [
  "const s = require('http').createServer((q, r) => r.end('ok')).listen(Number(process.env.PORT), '0.0.0.0');",
  "for (const sig of ['SIGTERM', 'SIGQUIT']) process.on(sig, () => { console.log('stopped by ' + sig); s.close(() => process.exit(0)); });",
].join(' ');

describe.skipIf(!engine.ok)(`docker runtime: Pod lifecycle (${engine.reason})`, () => {
  let runtime: DockerRuntime;
  const template: PodTemplate = {
    ...sampleAppTemplate('v1'),
    image: nodeBaseImage(process.version),
    command: [IMAGE_NODE_PATH, '-e', SERVER],
    containerPort: 8080,
    port: { mode: 'env', envVar: 'PORT' },
    metricsPath: null,
    lifecycle: { stopSignal: 'SIGQUIT', preStop: null, startupProbe: null },
  };

  beforeAll(async () => {
    runtime = new DockerRuntime({});
    await runtime.prepare(runId);
  });

  afterAll(async () => {
    await runtime?.destroy().catch(() => undefined);
    await removeRuns(docker, [runId]);
  });

  it('the container is created with StopSignal SIGQUIT, and stop sends it: a graceful exit', async () => {
    const started = await runtime.start(launchOf(runId, 'web-1-a-1', template, 'a'));
    await waitFor200(started.endpoint, '/');
    const info = await docker.getContainer(started.containerId!).inspect();
    expect((info.Config as { StopSignal?: string }).StopSignal).toBe('SIGQUIT');
    const exit = await runtime.stop('web-1-a-1', { graceMs: 5000, signal: 'SIGQUIT' });
    expect(exit.kind).toBe('graceful');
    expect((await runtime.logs('web-1-a-1', 20)).join('\n')).toContain('stopped by SIGQUIT');
  });

  it('exec runs inside the container: exit code and stderr tail; a missing command is "command not found"', async () => {
    const started = await runtime.start(launchOf(runId, 'web-1-b-2', template, 'b'));
    await waitFor200(started.endpoint, '/');
    const failed = await runtime.exec('web-1-b-2', [IMAGE_NODE_PATH, '-e', "console.error('drain hook: ' + process.env.PORT); process.exit(4)"], 10_000);
    expect(failed).toMatchObject({ exitCode: 4, timedOut: false, error: null });
    expect(failed.stderrTail).toContain('drain hook: 8080');
    const missing = await runtime.exec('web-1-b-2', ['/no/such/hook'], 10_000);
    expect(missing.error).toContain('command not found: /no/such/hook');
    const slow = await runtime.exec('web-1-b-2', [IMAGE_NODE_PATH, '-e', 'setTimeout(() => {}, 10000)'], 500);
    expect(slow.timedOut).toBe(true);
    expect((await runtime.stop('web-1-b-2', { graceMs: 5000, signal: 'SIGQUIT' })).kind).toBe('graceful');
  });
});
