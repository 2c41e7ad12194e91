import { mkdtemp, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ZerodropError } from '../../../common/src/errors.js';
import { writeFileAtomic } from '../../src/report/atomic.js';
import { ARTIFACT_FILES, STEP_SUMMARY_MAX_BYTES, readResult, rerender, writeReports } from '../../src/report/index.js';
import type { FailedRequestSample, RunResult } from '../../src/result/types.js';
import { buildRun, failingRun, passingRun } from '../fixtures/result.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'zd-report-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const NO_ENV = { env: {} };

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) out[name] = await readFile(join(dir, name), 'utf8');
  return out;
}

async function expectError(p: Promise<unknown>, code: string, ...fragments: string[]): Promise<ZerodropError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ZerodropError);
    const e = err as ZerodropError;
    expect(e.code).toBe(code);
    for (const f of fragments) expect(e.format()).toContain(f);
    expect(e.fix).toBeTruthy();
    return e;
  }
  throw new Error('expected a ZerodropError');
}

describe('writeReports', () => {
  it('writes every artifact and returns their paths; result.json is the pretty source', async () => {
    const dir = join(root, 'reports', 'run-1');
    const r = passingRun();
    const out = await writeReports(dir, r, NO_ENV);
    expect(out.dir).toBe(dir);
    expect(Object.keys(out.artifacts).sort()).toEqual(
      ['bench-bigger.json', 'bench-smaller.json', 'junit.xml', 'report.html', 'report.md', 'result.json'].sort(),
    );
    for (const p of Object.values(out.artifacts)) expect((await stat(p)).size).toBeGreaterThan(0);
    const text = await readFile(join(dir, 'result.json'), 'utf8');
    expect(text).toMatch(/^\{\n {2}"schemaVersion": 1,/);
    const parsed = JSON.parse(text) as RunResult;
    expect(parsed.checks).toEqual(r.checks);
    expect(parsed.artifacts['html']).toBe('report.html');
    expect(out.result).toEqual(parsed);
    expect(out.stepSummary).toBeNull();
    const bigger = JSON.parse(await readFile(out.artifacts['bench-bigger.json']!, 'utf8')) as unknown[];
    expect(Array.isArray(bigger)).toBe(true);
  });

  it('leaves no temp files and replaces an existing report whole', async () => {
    const dir = join(root, 'run');
    const fail = buildRun('fail');
    await writeReports(dir, fail.result, { ...NO_ENV, failedRequests: fail.failedRequests });
    expect(await readdir(dir)).toContain('failed-requests.csv');
    // A temp file left by a crashed writer (a pid that can't exist) is cleaned up.
    await writeFile(join(dir, '.report.md.2147483646.deadbeef.tmp'), 'half');
    const out = await writeReports(dir, passingRun(), NO_ENV);
    const names = await readdir(dir);
    expect(names.filter((n) => n.startsWith('.'))).toEqual([]);
    expect(names).not.toContain('failed-requests.csv');
    expect(out.artifacts['failed-requests.csv']).toBeUndefined();
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    expect(md).toContain('PASS');
    expect(md).not.toContain('FAIL');
    expect((JSON.parse(await readFile(join(dir, 'result.json'), 'utf8')) as RunResult).verdict).toBe('PASS');
  });

  it('writes the full failed-request list when given one (also from an async generator)', async () => {
    const { result, failedRequests } = buildRun('fail', { sampleSize: 10 });
    async function* rows(): AsyncGenerator<FailedRequestSample> {
      for (const f of failedRequests) yield f;
    }
    const dir = join(root, 'run');
    const out = await writeReports(dir, result, { ...NO_ENV, failedRequests: rows() });
    const csv = (await readFile(out.artifacts['failed-requests.csv']!, 'utf8')).trimEnd().split('\n');
    expect(csv[0]).toBe('id,t_ms,outcome,status,replica,zone,step,latency_ms,data_plane');
    expect(csv).toHaveLength(failedRequests.length + 1);
    expect(out.result.failures.listFile).toBe('failed-requests.csv');
    expect(await readFile(out.artifacts['report.md']!, 'utf8')).toContain(`All ${failedRequests.length.toLocaleString('en-US')} failed requests`);
  });

  it('writes the sample as failed-requests.csv when no full list is given', async () => {
    const r = failingRun({ sampleSize: 7 });
    const out = await writeReports(join(root, 'run'), r, NO_ENV);
    const csv = (await readFile(out.artifacts['failed-requests.csv']!, 'utf8')).trimEnd().split('\n');
    expect(csv).toHaveLength(8);
    expect(out.result.failures.listFile).toBeNull();
  });

  it('renders from exactly what result.json holds (undefined and NaN round-trip)', async () => {
    const r = passingRun();
    (r.load.latency as { p999Ms: number | null }).p999Ms = Number.NaN;
    (r.checks[0] as { explanation?: string }).explanation = undefined;
    const dir = join(root, 'run');
    await writeReports(dir, r, NO_ENV);
    const first = await snapshot(dir);
    await rerender(dir, NO_ENV);
    expect(await snapshot(dir)).toEqual(first);
  });
});

describe('rerender', () => {
  it('reproduces every file byte for byte from result.json, keeping the full CSV', async () => {
    const { result, failedRequests } = buildRun('fail', { sampleSize: 20 });
    const dir = join(root, 'run');
    await writeReports(dir, result, { ...NO_ENV, failedRequests });
    const before = await snapshot(dir);
    for (const name of ['report.md', 'report.html', 'junit.xml', 'bench-bigger.json', 'bench-smaller.json']) await rm(join(dir, name));
    await writeFile(join(dir, 'report.md'), 'stale');
    const out = await rerender(dir, NO_ENV);
    expect(await snapshot(dir)).toEqual(before);
    expect(out.result.run.id).toBe(result.run.id);
    expect(Object.keys(out.artifacts)).toContain('failed-requests.csv');
    // Also given the result.json path itself.
    await rerender(join(dir, 'result.json'), NO_ENV);
    expect(await snapshot(dir)).toEqual(before);
  });

  it('gives ZD_BAD_USAGE for a corrupt result.json, naming the file and the fix', async () => {
    const dir = join(root, 'run');
    await writeReports(dir, passingRun(), NO_ENV);
    const file = join(dir, 'result.json');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.slice(0, text.length / 2));
    await expectError(rerender(dir, NO_ENV), 'ZD_BAD_USAGE', file, 'not valid JSON', 'how to fix');
  });

  it('gives ZD_BAD_USAGE for a missing result.json or directory', async () => {
    const empty = join(root, 'empty');
    await mkdir(empty);
    const e = await expectError(rerender(empty, NO_ENV), 'ZD_BAD_USAGE', join(empty, 'result.json'));
    expect(e.exitCode).toBe(2);
    await expectError(rerender(join(root, 'nope'), NO_ENV), 'ZD_BAD_USAGE', join(root, 'nope'));
  });

  it('checks schemaVersion and the shape, listing every problem', async () => {
    const dir = join(root, 'run');
    await mkdir(dir);
    const file = join(dir, 'result.json');
    const r = passingRun();
    await writeFile(file, JSON.stringify({ ...r, schemaVersion: 2, tool: { ...r.tool, version: '9.0.0' } }));
    await expectError(readResult(dir), 'ZD_BAD_USAGE', 'schemaVersion 2', 'zerodrop 9.0.0');
    await writeFile(file, JSON.stringify([1, 2]));
    await expectError(readResult(dir), 'ZD_BAD_USAGE', 'not a zerodrop result');
    const broken = JSON.parse(JSON.stringify(r)) as Record<string, unknown>;
    delete broken['checks'];
    (broken['run'] as Record<string, unknown>)['id'] = 42;
    broken['verdict'] = 'MAYBE';
    await writeFile(file, JSON.stringify(broken));
    const e = await expectError(readResult(dir), 'ZD_BAD_USAGE', '3 problems');
    expect(e.details.join('\n')).toMatch(/checks: expected array/);
    expect(e.details.join('\n')).toMatch(/run\.id: expected string, got number/);
    expect(e.details.join('\n')).toMatch(/verdict/);
  });
});

describe('GITHUB_STEP_SUMMARY', () => {
  it('is appended to, never overwritten, and stays small', async () => {
    const summary = join(root, 'step-summary.md');
    await writeFile(summary, '# Earlier step\n\nkeep me\n');
    const env = { GITHUB_STEP_SUMMARY: summary };
    const dir = join(root, 'reports', 'run-1');
    const out = await writeReports(dir, failingRun(), { env, cwd: root });
    expect(out.stepSummary).toBe(summary);
    const once = await readFile(summary, 'utf8');
    expect(once.startsWith('# Earlier step\n\nkeep me\n')).toBe(true);
    expect(once).toContain('zerodrop FAIL');
    expect(once).toContain('`reports/run-1/report.html`');
    const appended = Buffer.byteLength(once) - Buffer.byteLength('# Earlier step\n\nkeep me\n');
    expect(appended).toBeLessThan(STEP_SUMMARY_MAX_BYTES);
    await writeReports(join(root, 'reports', 'run-2'), passingRun(), { env, cwd: root });
    const twice = await readFile(summary, 'utf8');
    expect(twice.startsWith(once)).toBe(true);
    expect(twice).toContain('zerodrop PASS');
    await rerender(dir, { env, cwd: root });
    expect((await readFile(summary, 'utf8')).startsWith(twice)).toBe(true);
  });

  it('is not written when the variable is unset or the option says no; a failure to append is a warning', async () => {
    const summary = join(root, 'step-summary.md');
    await writeReports(join(root, 'a'), passingRun(), { env: { GITHUB_STEP_SUMMARY: summary }, stepSummary: false });
    await expect(stat(summary)).rejects.toThrow();
    const out = await writeReports(join(root, 'b'), passingRun(), { env: { GITHUB_STEP_SUMMARY: join(root, 'no', 'such', 'dir', 'x.md') } });
    expect(out.stepSummary).toBeNull();
    expect(out.warnings[0]).toContain('could not append the job summary');
  });
});

describe('writeFileAtomic', () => {
  it('replaces a file whole and cleans up after a failed write', async () => {
    const file = join(root, 'f.txt');
    await writeFileAtomic(file, 'old');
    await writeFileAtomic(file, ['a', 'b', 'c']);
    expect(await readFile(file, 'utf8')).toBe('abc');
    // The target is a directory: rename fails; the temp file must not stay behind.
    const asDir = join(root, 'd');
    await mkdir(asDir);
    await expect(writeFileAtomic(asDir, 'x')).rejects.toThrow();
    // A generator that throws half-way leaves the old file intact and no temp file.
    function* broken(): Generator<string> {
      yield 'partial';
      throw new Error('boom');
    }
    await expect(writeFileAtomic(file, broken())).rejects.toThrow('boom');
    expect(await readFile(file, 'utf8')).toBe('abc');
    expect((await readdir(root)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('uses the documented file names', () => {
    expect(Object.values(ARTIFACT_FILES).sort()).toEqual(
      ['bench-bigger.json', 'bench-smaller.json', 'failed-requests.csv', 'junit.xml', 'report.html', 'report.md', 'result.json'].sort(),
    );
  });
});
