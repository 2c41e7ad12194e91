/**
 * Reaping by label: a harness that was SIGKILLed leaves its containers running; the next
 * prepare() removes them. Containers without the zerodrop label, and containers of live runs,
 * are never touched.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { DockerRuntime } from '../../src/runtime/docker.js';
import { IMAGE_NODE_PATH, ensureSampleAppImage, nodeBaseImage, packageRoot } from '../../src/runtime/docker-image.js';
import { LABELS, currentOwner, ownerLabels, ownerState } from '../../src/runtime/docker-reaper.js';
import { containersOfRun, launchOf, probeEngine, removeRuns, sampleAppTemplate, testRunId } from './support.js';

const engine = await probeEngine();
const docker = new Docker();
const deadRun = testRunId('reap-dead');
const liveRun = testRunId('reap-live');
const strayRun = testRunId('reap-stray');
const nextRun = testRunId('reap-next');
const created: string[] = [];

describe('owner state from labels (no engine needed)', () => {
  const here = currentOwner();
  it('alive for this process, dead for a reused pid or another boot, unknown without labels or from another host', () => {
    expect(ownerState(ownerLabels(here), here)).toBe('alive');
    expect(ownerState({ ...ownerLabels(here), [LABELS.ownerStart]: '1' }, here)).toBe('dead');
    expect(ownerState({ ...ownerLabels(here), [LABELS.ownerBoot]: 'another-boot' }, here)).toBe('dead');
    expect(ownerState({ ...ownerLabels(here), [LABELS.ownerPid]: '999999999' }, here)).toBe('dead');
    expect(ownerState({ ...ownerLabels(here), [LABELS.ownerHost]: 'elsewhere' }, here)).toBe('unknown');
    expect(ownerState({ [LABELS.managed]: '1' }, here)).toBe('unknown');
    expect(ownerState(undefined, here)).toBe('unknown');
  });
});

describe.skipIf(!engine.ok)(`reaping containers of dead runs (${engine.reason})`, () => {
  let live: DockerRuntime;

  beforeAll(async () => {
    await ensureSampleAppImage(docker);
    live = new DockerRuntime();
    await live.prepare(liveRun);
  });

  afterAll(async () => {
    await live?.destroy().catch(() => undefined);
    await removeRuns(docker, [deadRun, liveRun, strayRun, nextRun]);
    await Promise.allSettled(created.map((id) => docker.getContainer(id).remove({ force: true })));
  });

  it('a SIGKILLed harness leaves a running container; the next prepare() removes it and nothing else', async () => {
    const dist = join(packageRoot(), 'dist/orchestrator/src/runtime/docker.js');
    expect(existsSync(dist), `${dist} is missing: run npm run build`).toBe(true);

    // 1. A harness in another process starts a replica, then dies by SIGKILL (no cleanup runs).
    const launch = launchOf(deadRun, 'web-1-a-1', sampleAppTemplate('v1'), 'a');
    const script = `
      const { DockerRuntime } = await import(${JSON.stringify(pathToFileURL(dist).href)});
      const runtime = new DockerRuntime({ reap: false });
      await runtime.prepare(${JSON.stringify(deadRun)});
      const started = await runtime.start(JSON.parse(process.env.LAUNCH));
      process.stdout.write(JSON.stringify({ containerId: started.containerId }) + '\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, LAUNCH: JSON.stringify(launch) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const orphan = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve((JSON.parse(line) as { containerId: string }).containerId);
      });
      child.on('exit', (code) => reject(new Error(`the child harness exited (${code}) before starting its replica: ${stderr}`)));
    });
    created.push(orphan);
    const died = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await died;
    await new Promise((r) => setTimeout(r, 300));
    expect((await docker.getContainer(orphan).inspect()).State.Running).toBe(true); // orphaned, still running

    // 2. Bystanders: a container without the zerodrop label, a zerodrop container of a live run
    //    (ours), one whose owner we cannot judge (no owner labels), and one whose pid was reused.
    const base = nodeBaseImage(process.version);
    const keepAlive = [IMAGE_NODE_PATH, '-e', 'setInterval(() => {}, 1000)'];
    const unlabelled = await docker.createContainer({ Image: base, Cmd: keepAlive, Labels: { 'zerodrop-test': 'bystander' } });
    created.push(unlabelled.id);
    await unlabelled.start();
    const unknownOwner = await docker.createContainer({ Image: base, Cmd: keepAlive, Labels: { [LABELS.managed]: '1', [LABELS.runId]: strayRun } });
    created.push(unknownOwner.id);
    const reusedPid = await docker.createContainer({
      Image: base,
      Cmd: keepAlive,
      Labels: { [LABELS.managed]: '1', [LABELS.runId]: strayRun, ...ownerLabels(currentOwner()), [LABELS.ownerStart]: '1' },
    });
    created.push(reusedPid.id);
    const mine = await live.start(launchOf(liveRun, 'web-1-b-1', sampleAppTemplate('v1'), 'b'));

    // 3. The next start.
    const lines: string[] = [];
    const next = new DockerRuntime({ log: (l) => lines.push(l) });
    await next.prepare(nextRun);
    await next.close(1000);

    const exists = async (id: string): Promise<boolean> =>
      docker
        .getContainer(id)
        .inspect()
        .then(() => true)
        .catch(() => false);
    expect(await exists(orphan)).toBe(false);
    expect(await containersOfRun(docker, deadRun)).toEqual([]);
    expect(await exists(reusedPid.id)).toBe(false);
    expect(await exists(unlabelled.id)).toBe(true);
    expect((await unlabelled.inspect()).State.Running).toBe(true);
    expect(await exists(unknownOwner.id)).toBe(true);
    expect(await exists(mine.containerId as string)).toBe(true);
    expect(lines.join('\n')).toMatch(new RegExp(`removed \\d+ container\\(s\\) left by dead run\\(s\\) .*${deadRun}`));

    // 4. The live run cleans up after itself at close.
    await live.close(2000);
    expect(await containersOfRun(docker, liveRun)).toEqual([]);
  });
});
