/**
 * The CLI as users and CI run it: the built bin, real processes, real exit codes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processesOfRun, tempReportsDir } from '../helpers/scenario-run.js';

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

describe('zerodrop CLI', () => {
  it('runs the demo at a reduced rate end to end: PASS, exit 0, every report written', () => {
    const out = tempReportsDir();
    const r = spawnSync(process.execPath, [BIN, 'demo', '--rate', '1000', '--duration', '20s', '--out', out, '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    const result = JSON.parse(r.stdout) as { verdict: string; run: { id: string }; checks: { id: string; status: string }[] };
    expect(r.status, `${r.stderr}\n${result.checks.filter((c) => c.status !== 'pass').map((c) => c.id).join(', ')}`).toBe(0);
    expect(result.verdict).toBe('PASS');
    const dir = join(out, result.run.id);
    for (const f of ['result.json', 'report.md', 'report.html', 'junit.xml', 'bench-bigger.json', 'bench-smaller.json']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    expect(readFileSync(join(out, 'latest', 'result.json'), 'utf8')).toContain(result.run.id);
    expect(r.stderr).toMatch(/PASS/);
    expect(processesOfRun(result.run.id)).toEqual([]);
  });

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
    const child = spawn(process.execPath, [BIN, 'run', 'scenarios/rollout.yaml', '--rate', '500', '--out', out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const stderr = child.stderr!;
    const [, runId] = await waitFor(/run (\S+) →/, stderr, 30_000);
    await waitFor(/t=\s*\d+s/, stderr, 30_000);
    expect(processesOfRun(runId!).length).toBeGreaterThan(0);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(3);
    expect(await gone(runId!, 5000)).toEqual([]);
    const result = JSON.parse(readFileSync(join(out, runId!, 'result.json'), 'utf8')) as { run: { complete: boolean }; verdict: string };
    expect(result.run.complete).toBe(false);
    expect(result.verdict).toBe('INVALID');
    expect(readFileSync(join(out, runId!, 'report.md'), 'utf8')).toMatch(/incomplete/i);
  });

  it('SIGKILL of the harness leaves no replica behind (pdeathsig, process groups)', async () => {
    const out = tempReportsDir();
    const child = spawn(process.execPath, [BIN, 'run', 'scenarios/rollout.yaml', '--rate', '300', '--out', out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const [, runId] = await waitFor(/run (\S+) →/, child.stderr!, 30_000);
    await waitFor(/deployment ready/, child.stderr!, 30_000);
    expect(processesOfRun(runId!).length).toBe(6);
    child.kill('SIGKILL');
    expect(await gone(runId!, 5000)).toEqual([]);
  });
});
