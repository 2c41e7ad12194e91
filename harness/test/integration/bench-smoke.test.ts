/**
 * Smoke test of `npm run bench` (scripts/bench.ts): a short run without the ceiling bisection
 * writes a benchmark-action file whose every entry carries a number, and leaves no process
 * behind. Never a timing assertion: the numbers depend on the box.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BENCH = join(ROOT, 'dist', 'scripts', 'bench.js');
const HAPROXY = '/usr/sbin/haproxy';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs a command to its end; SIGINT at timeoutMs (the bench then kills what it started), SIGKILL 15 s later. */
function runBounded(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const soft = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    const hard = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 15_000);
    child.on('error', reject);
    // 'close', not 'exit': the output asserted on below may still be in the pipes at 'exit'.
    child.on('close', (code) => {
      clearTimeout(soft);
      clearTimeout(hard);
      resolve({ code, stdout, stderr });
    });
  });
}

function file0(dir: string, suffix: string): string {
  const f = readdirSync(dir).filter((x) => x.endsWith(suffix));
  expect(f, `${suffix} in ${dir}`).toHaveLength(1);
  return join(dir, f[0]!);
}

interface Entry {
  name: unknown;
  unit: unknown;
  value: unknown;
  extra?: unknown;
  range?: unknown;
}

it('bench --quick --no-ceiling --boots 1 writes benchmark-action entries, each with a number, and kills what it started', async () => {
  expect(existsSync(BENCH), `${BENCH} is missing: run "npm run build"`).toBe(true);
  const out = mkdtempSync(join(tmpdir(), 'zd-bench-smoke-'));
  dirs.push(out);
  const run = await runBounded(
    [BENCH, '--quick', '--no-ceiling', '--boot-containers', '0', '--seconds', '1', '--warmup', '0', '--runs', '1', '--boots', '1', '--out', out],
    60_000,
  );
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);

  const files = readdirSync(out).filter((f) => f.endsWith('.json') && !f.endsWith('-smaller.json'));
  expect(files).toHaveLength(1);
  // Costs go to a customSmallerIsBetter file of their own: sample-app's CPU per request ÷ plain node:http's.
  const smallerFile = file0(out, '-smaller.json');
  const smaller = JSON.parse(readFileSync(smallerFile, 'utf8')) as Entry[];
  expect(smaller.map((e) => e.name)).toEqual(expect.arrayContaining(['ratio: sample-app ÷ node:http CPU/req', '(g) replica boot CPU to Ready']));
  expect(smaller.find((e) => e.name === '(g) replica boot CPU to Ready')?.unit).toBe('ms');
  for (const e of smaller) expect(Number.isFinite(e.value), JSON.stringify(e)).toBe(true);
  const file = join(out, files[0]!);
  expect(run.stdout).toContain(`wrote ${file}`);
  const entries = JSON.parse(readFileSync(file, 'utf8')) as Entry[];
  expect(Array.isArray(entries)).toBe(true);
  for (const e of entries) {
    expect(typeof e.name, JSON.stringify(e)).toBe('string');
    expect(typeof e.unit, JSON.stringify(e)).toBe('string');
    expect(typeof e.value, JSON.stringify(e)).toBe('number');
    expect(Number.isFinite(e.value), JSON.stringify(e)).toBe(true);
    expect(typeof e.extra, JSON.stringify(e)).toBe('string');
    if (e.range !== undefined) expect(typeof e.range).toBe('string');
  }
  const names = entries.map((e) => e.name as string);
  expect(new Set(names).size).toBe(names.length);
  const expected = [
    '(a) direct to replicas: throughput',
    '(f) plain node:http: throughput',
    '(b) zerodrop proxy: throughput',
    '(d) wrk: throughput',
    '(d) zerodrop driver: throughput',
    'ratio: driver ÷ wrk',
  ];
  if (existsSync(HAPROXY)) expected.push('(c) HAProxy: throughput', 'ratio: proxy ÷ HAProxy');
  expect(names).toEqual(expect.arrayContaining(expected));
  expect(names.some((n) => n.startsWith('(e)'))).toBe(false);
  for (const e of entries.filter((x) => (x.name as string).endsWith('throughput'))) {
    expect(e.unit).toBe('req/s');
    expect(e.value as number).toBeGreaterThan(0);
  }

  // The table and the goals are printed; the skipped ceiling says why.
  expect(run.stdout).toContain('| (b) zerodrop proxy |');
  expect(run.stdout).toMatch(/proxy ÷ HAProxy .*goal ≥ 0\.80/);
  expect(run.stdout).toMatch(/sample-app ÷ node:http CPU\/req .*goal ≤ 1\.30/);
  expect(run.stdout).toMatch(/ceiling ÷ 20,000 .*NOT MEASURED · --no-ceiling/);
  expect(run.stdout).toMatch(/ceiling docker ÷ process .*goal ≥ 0\.80 +NOT MEASURED · docker: --no-ceiling/);
  expect(run.stdout).toMatch(/\(h\) container boot .*\n {2}--boot-containers 0/);

  // Every replica it started is gone.
  const pids = [...run.stderr.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]));
  expect(pids.length).toBeGreaterThan(0);
  for (const pid of pids) expect(() => process.kill(pid, 0), `replica pid ${pid} still alive`).toThrow();
});
