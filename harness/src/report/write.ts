/**
 * Writing a run's reports: result.json (the source) and everything rendered from it, each file
 * replaced atomically; and `rerender` (`zerodrop report <dir>`), which renders every artifact
 * again from result.json alone.
 */
import { appendFile, mkdir, readFile, stat, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { ZerodropError, errorMessage } from '../../../common/src/errors.js';
import { type FailedRequestSample, RESULT_SCHEMA_VERSION, type RunResult } from '../result/types.js';
import { type AtomicData, removeStaleTemps, writeFileAtomic } from './atomic.js';
import { renderBench } from './bench.js';
import { failedCsvLines, failedCsvLinesAsync, renderFailedCsv } from './csv.js';
import { renderHtml } from './html.js';
import { renderJunit } from './junit.js';
import { renderMarkdown, renderStepSummary } from './markdown.js';

/** File names inside `reports/<run-id>/`, keyed as in `result.artifacts`. */
export const ARTIFACT_FILES = {
  result: 'result.json',
  markdown: 'report.md',
  html: 'report.html',
  junit: 'junit.xml',
  benchBigger: 'bench-bigger.json',
  benchSmaller: 'bench-smaller.json',
  failedRequests: 'failed-requests.csv',
} as const;

export interface WrittenReports {
  /** Absolute path of the run directory. */
  dir: string;
  /**
   * Artifact file name → absolute path, for every file of the run: "result.json", "report.md",
   * "report.html", "junit.xml", "bench-bigger.json", "bench-smaller.json" and, when something
   * failed, "failed-requests.csv" (a stale one from an earlier run in the same dir is removed).
   */
  artifacts: Record<string, string>;
  /** The RunResult exactly as result.json holds it (artifacts and failures.listFile filled in). */
  result: RunResult;
  /** The $GITHUB_STEP_SUMMARY file appended to, or null. */
  stepSummary: string | null;
  /** Things that went wrong without failing the write (the job summary could not be appended). */
  warnings: string[];
}

export interface WriteReportsOptions {
  /**
   * Every failed request, when the harness has more than `result.failures.sample` (it may be
   * a generator over the ledger). Written to failed-requests.csv, and
   * `result.failures.listFile` then names that file.
   */
  failedRequests?: Iterable<FailedRequestSample> | AsyncIterable<FailedRequestSample>;
  /** Environment to read GITHUB_STEP_SUMMARY from (default process.env). */
  env?: Record<string, string | undefined>;
  /** false: never append a job summary, even on GitHub. Default true. */
  stepSummary?: boolean;
  /** Paths in the job summary are shown relative to this (default process.cwd()). */
  cwd?: string;
}

/** Every rendered artifact except result.json and the CSV, by file name. Pure. */
export function renderArtifacts(result: RunResult): Record<string, string> {
  const bench = renderBench(result);
  return {
    [ARTIFACT_FILES.markdown]: renderMarkdown(result),
    [ARTIFACT_FILES.html]: renderHtml(result),
    [ARTIFACT_FILES.junit]: renderJunit(result),
    [ARTIFACT_FILES.benchBigger]: `${JSON.stringify(bench.bigger, null, 2)}\n`,
    [ARTIFACT_FILES.benchSmaller]: `${JSON.stringify(bench.smaller, null, 2)}\n`,
  };
}

export function serializeResult(result: RunResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}

function artifactPaths(dir: string, failed: boolean, resultFile: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.values(artifactNames(failed))) out[name] = join(dir, name);
  out[ARTIFACT_FILES.result] = resultFile;
  return out;
}

function isAsyncIterable<T>(x: unknown): x is AsyncIterable<T> {
  return typeof x === 'object' && x !== null && Symbol.asyncIterator in x;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes result.json and every report into `dir` (the run directory, `reports/<run-id>`),
 * creating it if needed. Each file is replaced atomically; result.json first, so that an
 * interrupted write can always be finished with `zerodrop report <dir>`. Returns the paths.
 */
export async function writeReports(dir: string, result: RunResult, options: WriteReportsOptions = {}): Promise<WrittenReports> {
  const abs = resolve(dir);
  await mkdir(abs, { recursive: true });
  await removeStaleTemps(abs);

  // Render from exactly what result.json will hold (JSON drops undefined, turns NaN into null),
  // so `rerender` reproduces every file byte for byte.
  const source = JSON.parse(JSON.stringify(result)) as RunResult;
  const hasFailures = source.failures.total > 0 || source.failures.sample.length > 0;
  const fullList = options.failedRequests !== undefined && hasFailures;
  if (fullList) source.failures.listFile = ARTIFACT_FILES.failedRequests;
  source.artifacts = { ...source.artifacts, ...artifactNames(hasFailures) };

  await writeFileAtomic(join(abs, ARTIFACT_FILES.result), serializeResult(source));
  if (fullList && options.failedRequests !== undefined) {
    const rows = options.failedRequests;
    const lines: AtomicData = isAsyncIterable<FailedRequestSample>(rows) ? failedCsvLinesAsync(rows) : failedCsvLines(rows);
    await writeFileAtomic(join(abs, ARTIFACT_FILES.failedRequests), lines);
  }
  return writeDerived(abs, source, join(abs, ARTIFACT_FILES.result), { keepCsv: fullList }, options);
}

function artifactNames(hasFailures: boolean): Record<string, string> {
  const { failedRequests, ...rest } = ARTIFACT_FILES;
  return hasFailures ? { ...rest, failedRequests } : { ...rest };
}

async function writeDerived(
  dir: string,
  source: RunResult,
  resultFile: string,
  csv: { keepCsv: boolean },
  options: Pick<WriteReportsOptions, 'env' | 'stepSummary' | 'cwd'>,
): Promise<WrittenReports> {
  const hasFailures = source.failures.total > 0 || source.failures.sample.length > 0;
  const csvPath = join(dir, ARTIFACT_FILES.failedRequests);
  if (!csv.keepCsv) {
    if (hasFailures) await writeFileAtomic(csvPath, renderFailedCsv(source.failures.sample));
    else await unlink(csvPath).catch(() => undefined);
  }
  for (const [name, text] of Object.entries(renderArtifacts(source))) {
    await writeFileAtomic(join(dir, name), text);
  }
  const out: WrittenReports = { dir, artifacts: artifactPaths(dir, hasFailures, resultFile), result: source, stepSummary: null, warnings: [] };
  const html = join(dir, ARTIFACT_FILES.html);
  const env = options.env ?? process.env;
  const summaryFile = env['GITHUB_STEP_SUMMARY'];
  if (options.stepSummary !== false && summaryFile) {
    const cwd = options.cwd ?? process.cwd();
    const rel = relative(cwd, html);
    const shown = rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : html;
    try {
      await appendFile(summaryFile, `\n${renderStepSummary(source, { htmlPath: shown })}`, 'utf8');
      out.stepSummary = summaryFile;
    } catch (err) {
      // GitHub: "Upload failures for job summaries do not affect the overall status".
      out.warnings.push(`could not append the job summary to ${summaryFile}: ${errorMessage(err)}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

const VERDICTS = new Set(['PASS', 'FAIL', 'INVALID']);
const STATUSES = new Set(['pass', 'fail', 'invalid', 'skip']);

/**
 * Checks that a parsed result.json has the shape the renderers read, and returns it typed.
 * Every problem is listed (not just the first). Throws ZD_BAD_USAGE naming the file.
 */
export function validateRunResult(value: unknown, file: string): RunResult {
  const fix = 'render a result.json written by `zerodrop run` (reports/<run-id>/result.json), or run the scenario again';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ZerodropError('ZD_BAD_USAGE', `${file} is not a zerodrop result (expected a JSON object)`, { fix });
  }
  const root = value as Record<string, unknown>;
  const sv = root['schemaVersion'];
  if (sv !== RESULT_SCHEMA_VERSION) {
    const tool = (root['tool'] as { version?: unknown } | undefined)?.version;
    throw new ZerodropError(
      'ZD_BAD_USAGE',
      sv === undefined
        ? `${file} has no schemaVersion: it is not a zerodrop result.json`
        : `${file} has schemaVersion ${JSON.stringify(sv)}; this zerodrop reads schemaVersion ${RESULT_SCHEMA_VERSION}`,
      {
        fix: typeof tool === 'string' ? `render it with zerodrop ${tool}, the version that wrote it (npx zerodrop@${tool} report <dir>)` : fix,
      },
    );
  }
  const problems: string[] = [];
  const get = (path: string): unknown =>
    path.split('.').reduce<unknown>((o, k) => (typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[k] : undefined), root);
  const need = (path: string, type: 'string' | 'number' | 'boolean' | 'object' | 'array' | 'string|null' | 'number|null'): void => {
    const v = get(path);
    const ok =
      type === 'array'
        ? Array.isArray(v)
        : type === 'object'
          ? typeof v === 'object' && v !== null && !Array.isArray(v)
          : type === 'string|null'
            ? v === null || typeof v === 'string'
            : type === 'number|null'
              ? v === null || typeof v === 'number'
              : typeof v === type;
    if (!ok) problems.push(`${path}: expected ${type}, got ${v === undefined ? 'nothing' : Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v}`);
  };
  for (const p of ['tool.version', 'run.id', 'run.scenario.name', 'run.startedAt', 'run.endedAt', 'run.runtime', 'run.command', 'headline'] as const)
    need(p, 'string');
  for (const p of [
    'run.durationMs',
    'run.originEpochMs',
    'exitCode',
    'load.targetRate',
    'load.achievedRate',
    'load.sent',
    'load.completed',
    'load.ok',
    'load.failed',
    'load.lost',
  ] as const)
    need(p, 'number');
  need('run.complete', 'boolean');
  need('run.incompleteReason', 'string|null');
  for (const p of [
    'run.machine',
    'load',
    'load.latency',
    'disruption',
    'failures',
    'failures.byOutcome',
    'failures.byStatus',
    'failures.byReplica',
    'failures.byZone',
    'failures.byStep',
    'timeline',
    'timeline.readyByZone',
    'timeline.readyByVersion',
    'proxy',
    'proxy.responded',
    'proxy.retries',
    'prometheus',
    'artifacts',
  ] as const)
    need(p, 'object');
  for (const p of [
    'checks',
    'reconciliation',
    'disruption.events',
    'failures.sample',
    'replicas',
    'timeline.t',
    'timeline.ok',
    'timeline.failed',
    'timeline.retried',
    'timeline.p50Ms',
    'timeline.p99Ms',
    'timeline.maxMs',
    'bands',
    'events',
    'prometheus.queries',
  ] as const)
    need(p, 'array');
  need('failures.total', 'number');
  need('failures.listFile', 'string|null');
  need('timeline.bucketMs', 'number');
  if (!VERDICTS.has(String(root['verdict']))) problems.push(`verdict: expected PASS, FAIL or INVALID, got ${JSON.stringify(root['verdict'])}`);
  const checks = root['checks'];
  if (Array.isArray(checks)) {
    checks.forEach((c: unknown, i) => {
      const o = (typeof c === 'object' && c !== null ? c : {}) as Record<string, unknown>;
      for (const k of ['id', 'group', 'title', 'expected', 'actual']) if (typeof o[k] !== 'string') problems.push(`checks[${i}].${k}: expected string`);
      if (!STATUSES.has(String(o['status']))) problems.push(`checks[${i}].status: expected pass, fail, invalid or skip`);
    });
  }
  const tl = root['timeline'] as Record<string, unknown> | undefined;
  if (tl && Array.isArray(tl['t'])) {
    const n = tl['t'].length;
    for (const k of ['ok', 'failed', 'retried', 'p50Ms', 'p99Ms', 'maxMs']) {
      const a = tl[k];
      if (Array.isArray(a) && a.length !== n) problems.push(`timeline.${k}: ${a.length} values for ${n} buckets`);
    }
  }
  if (problems.length) {
    throw new ZerodropError('ZD_BAD_USAGE', `${file} is not a valid zerodrop result (${problems.length} problem${problems.length === 1 ? '' : 's'})`, {
      fix,
      details: problems.slice(0, 20).concat(problems.length > 20 ? [`… and ${problems.length - 20} more`] : []),
    });
  }
  return value as RunResult;
}

/** Where result.json is, for a run directory or the file itself. */
async function locate(dirOrFile: string): Promise<{ dir: string; file: string }> {
  const abs = resolve(dirOrFile);
  let isFile = false;
  try {
    isFile = (await stat(abs)).isFile();
  } catch {
    throw new ZerodropError('ZD_BAD_USAGE', `${abs} does not exist`, {
      fix: 'pass a run directory written by `zerodrop run`, e.g. `zerodrop report reports/<run-id>`',
    });
  }
  return isFile ? { dir: dirname(abs), file: abs } : { dir: abs, file: join(abs, ARTIFACT_FILES.result) };
}

/** Reads and validates `<dir>/result.json` (or the given file). Throws ZD_BAD_USAGE. */
export async function readResult(dirOrFile: string): Promise<RunResult> {
  const { file } = await locate(dirOrFile);
  return (await load(file)).result;
}

async function load(file: string): Promise<{ result: RunResult }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ZerodropError(
      'ZD_BAD_USAGE',
      code === 'ENOENT' ? `${file} does not exist: ${dirname(file)} is not a zerodrop run directory` : `cannot read ${file}: ${errorMessage(err)}`,
      {
        fix:
          code === 'ENOENT'
            ? 'pass the directory of a finished run (it holds result.json), e.g. `zerodrop report reports/<run-id>`'
            : 'check the file permissions',
        cause: err,
      },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ZerodropError('ZD_BAD_USAGE', `${file} is not valid JSON (${errorMessage(err)})`, {
      fix: `the file is truncated or was edited: restore ${basename(file)} from the run's CI artifact, or run the scenario again`,
      cause: err,
    });
  }
  return { result: validateRunResult(parsed, file) };
}

/**
 * `zerodrop report <dir>`: reads `<dir>/result.json` and writes every other artifact again.
 * failed-requests.csv is kept when result.json says it holds the full list (result.json only
 * has the sample); otherwise it is written from the sample. Appends the job summary on GitHub.
 */
export async function rerender(dir: string, options: Omit<WriteReportsOptions, 'failedRequests'> = {}): Promise<WrittenReports> {
  const { dir: runDir, file } = await locate(dir);
  const { result } = await load(file);
  await removeStaleTemps(runDir);
  const listFile = result.failures.listFile;
  const keepCsv = listFile === ARTIFACT_FILES.failedRequests && (await exists(join(runDir, listFile)));
  return writeDerived(runDir, result, file, { keepCsv }, options);
}
