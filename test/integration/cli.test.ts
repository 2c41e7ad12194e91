/**
 * The CLI as users and CI run it: the built bin, real processes, real exit codes. The demo end to
 * end, with every report it writes, runs from the installed tarball (package.test.ts).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processesOfRun, tempReportsDir } from '../helpers/scenario-run.js';
import { wantsOwnSession } from '../../harness/src/cli/own-session.js';
import { autogroupNiceOf } from '../../orchestrator/src/runtime/priorities.js';
import { autogroupsEnabled } from '../../common/src/session.js';

const ROOT = join(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/zerodrop.js');

function waitFor(re: RegExp, stream: NodeJS.ReadableStream, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; got:\n${text}`)), timeoutMs);
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const m = re.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
  });
}

async function gone(runId: string, withinMs: number): Promise<number[]> {
  const deadline = Date.now() + withinMs;
  let left = processesOfRun(runId);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = processesOfRun(runId);
  }
  return left;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const sessionNice = autogroupNiceOf(process.pid);
const permittedNice = typeof process.getuid === 'function' && process.getuid() === 0;

/** Processes whose command line runs the bin with `--out out` (the CLI, and its harness child). */
function harnessesOf(out: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.includes(BIN) && argv.includes(out)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function harnessesGone(out: string, withinMs: number): Promise<number[]> {
  const deadline = Date.now() + withinMs;
  while (harnessesOf(out).length > 0 && Date.now() < deadline) await sleep(100);
  return harnessesOf(out);
}

/** All of a stream's text so far (waitFor only sees what arrives after it is called). */
function collect(stream: NodeJS.ReadableStream): { text: () => string; until: (re: RegExp, timeoutMs: number) => Promise<RegExpExecArray> } {
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return {
    text: () => text,
    async until(re, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = re.exec(text);
        if (m) return m;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}; got:\n${text}`);
        await sleep(25);
      }
    },
  };
}

/**
 * A run that is still starting when the test interrupts it: readiness stays false for 5 s
 * (target.warmup), so "deployment ready" cannot come before the signal.
 */
function slowStartScenario(dir: string, termination: { drainDelay: string; gracePeriod: string } = { drainDelay: '1500ms', gracePeriod: '10s' }): string {
  const file = join(dir, 'slow-start.yaml');
  writeFileSync(
    file,
    [
      'name: sigint-startup',
      `target: { warmup: 5s, drainDelay: ${termination.drainDelay} }`,
      `deployment: { replicas: 4, zones: [a, b], termination: { gracePeriod: ${termination.gracePeriod} } }`,
      'load: { rate: 200, duration: 10s, warmup: 1s }',
      'timeline:',
      '  - { at: 3s, action: rollout, version: v2 }',
    ].join('\n'),
  );
  return file;
}

/** Starts `zerodrop run file` and returns once replicas of the run exist but none is ready. */
async function startAndWaitForReplicas(
  file: string,
  out: string,
): Promise<{ child: ReturnType<typeof spawn>; runId: string; stderr: ReturnType<typeof collect>; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, 'run', file, '--out', out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const stderr = collect(child.stderr);
  const [, runId] = await stderr.until(/run (\S+) →/, 30_000);
  await stderr.until(/starting \d+ replicas/, 30_000);
  const deadline = Date.now() + 15_000;
  while (processesOfRun(runId!).length === 0 && Date.now() < deadline) await sleep(50);
  expect(processesOfRun(runId!).length, stderr.text()).toBeGreaterThan(0);
  expect(stderr.text()).not.toMatch(/deployment ready/);
  return { child, runId: runId!, stderr, exited };
}

describe('zerodrop CLI', () => {
  it('a malformed scenario exits 2, names every bad field, starts nothing and writes nothing', () => {
    const out = tempReportsDir();
    const file = join(out, 'bad.yaml');
    spawnSync('sh', ['-c', `printf 'load:\\n  rate: fast\\n  durtion: 10s\\ndeployment: { replicas: 0 }\\n' > ${file}`]);
    const r = spawnSync(process.execPath, [BIN, 'run', file, '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('ZD_BAD_SCENARIO');
    expect(r.stderr).toMatch(/bad\.yaml:2:\d+ +load\.rate/);
    expect(r.stderr).toMatch(/load\.durtion: unknown field[\s\S]*did you mean "duration"/);
    expect(r.stderr).toMatch(/deployment\.replicas/);
    expect(readdirSync(out)).toEqual(['bad.yaml']);
  });

  it('bad flags exit 2 with the fix', () => {
    const r = spawnSync(process.execPath, [BIN, 'demo', '--rate', 'lots'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--rate lots');
    expect(r.stderr).toContain('how to fix');
  });

  it('SIGINT mid-run tears everything down, writes a report marked incomplete, exit 3', async () => {
    const out = tempReportsDir();
    const child = spawn(process.execPath, [BIN, 'run', 'scenarios/rollout.yaml', '--rate', '500', '--out', out], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stderr = child.stderr;
    const [, runId] = await waitFor(/run (\S+) →/, stderr, 30_000);
    await waitFor(/t=\s*\d+s/, stderr, 30_000);
    expect(processesOfRun(runId!).length).toBeGreaterThan(0);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(3);
    expect(await gone(runId!, 5000)).toEqual([]);
    const result = JSON.parse(readFileSync(join(out, runId!, 'result.json'), 'utf8')) as {
      run: { complete: boolean; cpuPriorities?: { session?: string } };
      verdict: string;
    };
    expect(result.run.complete).toBe(false);
    expect(result.verdict).toBe('INVALID');
    expect(readFileSync(join(out, runId!, 'report.md'), 'utf8')).toMatch(/incomplete/i);
    // The SIGINT reached the harness through the CLI, which ran it as a session of its own
    // (own-session.ts) whenever that changes its CPU rank; this test's session was left alone.
    expect(result.run.cpuPriorities?.session).toBe(wantsOwnSession(['run'], process.env) ? 'own' : autogroupsEnabled() && permittedNice ? 'shared' : undefined);
    expect(autogroupNiceOf(process.pid)).toBe(sessionNice);
  });

  it('SIGINT while the replicas are starting: exit 3, a report marked incomplete (0 sent), nothing left running', async () => {
    const out = tempReportsDir();
    const { child, runId, stderr, exited } = await startAndWaitForReplicas(slowStartScenario(out), out);
    child.kill('SIGINT');
    const code = await exited;
    expect(code, stderr.text()).toBe(3);
    expect(stderr.text()).not.toMatch(/deployment ready|t=\s*\d+s/); // the load never started
    expect(await gone(runId, 5000)).toEqual([]);
    const result = JSON.parse(readFileSync(join(out, runId, 'result.json'), 'utf8')) as {
      run: { complete: boolean; incompleteReason: string | null };
      verdict: string;
      exitCode: number;
      load: { sent: number };
    };
    expect(result.run.complete).toBe(false);
    expect(result.run.incompleteReason).toMatch(/while starting the replicas, before the load started/);
    expect(result.verdict).toBe('INVALID');
    expect(result.exitCode).toBe(3);
    expect(result.load.sent).toBe(0);
    expect(readFileSync(join(out, runId, 'report.md'), 'utf8')).toMatch(/incomplete/i);
  });

  it('a second SIGINT kills everything at once instead of draining: exit 3, nothing left running', async () => {
    const out = tempReportsDir();
    // A graceful teardown would wait out the replicas' 8 s drain delay; the kill must not.
    const file = slowStartScenario(out, { drainDelay: '8s', gracePeriod: '15s' });
    const { child, runId, stderr, exited } = await startAndWaitForReplicas(file, out);
    child.kill('SIGINT');
    await stderr.until(/interrupted while/, 5000);
    await sleep(200); // a separate signal, not merged with the first
    const t0 = Date.now();
    child.kill('SIGINT');
    const code = await exited;
    expect(code, stderr.text()).toBe(3);
    expect(Date.now() - t0, 'the second Ctrl-C must not wait for the 8 s drain').toBeLessThan(6000);
    expect(stderr.text()).toMatch(/killing everything/);
    expect(await gone(runId, 3000)).toEqual([]);
  });

  it('SIGKILL of the harness leaves no replica behind (pdeathsig, process groups)', async () => {
    const out = tempReportsDir();
    const child = spawn(process.execPath, [BIN, 'run', 'scenarios/rollout.yaml', '--rate', '300', '--out', out], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [, runId] = await waitFor(/run (\S+) →/, child.stderr, 30_000);
    await waitFor(/deployment ready/, child.stderr, 30_000);
    expect(processesOfRun(runId!).length).toBe(6);
    child.kill('SIGKILL');
    expect(await gone(runId!, 5000)).toEqual([]);
    // The harness itself too, when the CLI ran it as a child in a session of its own (pdeathsig).
    expect(await harnessesGone(out, 5000)).toEqual([]);
  });
});
