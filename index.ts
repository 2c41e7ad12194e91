/**
 * zerodrop's programmatic API (the package's main export; the CLI is a thin layer over it):
 *
 *   import { loadScenario, runScenario } from 'zerodrop';
 *   const plan = loadScenario('zerodrop.yaml', { rate: 1000 });
 *   const { result } = await runScenario(plan);
 *   if (result.verdict !== 'PASS') process.exitCode = result.exitCode;
 *
 * Errors are ZerodropError (a stable `code`, a `fix` line, the CLI's `exitCode`).
 */
import { join } from 'node:path';
import { projectRoot } from './harness/src/paths.js';
import { runScenario as runPlan, type RunOutcome } from './harness/src/run/runner.js';
import { loadScenarioFile, parseScenarioText } from './harness/src/scenario/load.js';
import { resolvePlan, type CliOverrides, type RunPlan } from './harness/src/scenario/resolve.js';

export { ExitCode, ZerodropError, isZerodropError } from './common/src/errors.js';
export type { ZerodropErrorCode } from './common/src/errors.js';
export type { Check, CheckGroup, CheckStatus, RunResult, Verdict } from './harness/src/result/types.js';
export type { RunOutcome } from './harness/src/run/runner.js';
export type { RunPlan } from './harness/src/scenario/resolve.js';
export type { LedgerData } from './harness/src/driver/ledger.js';
export { readResult, rerender } from './harness/src/report/index.js';
export { renderTerminalSummary } from './harness/src/report/terminal.js';
export { ledgerRows, writeLedger, type LedgerFormat, type LedgerRow } from './harness/src/cli/ledger-export.js';
export { initScenario, renderInitScenario } from './harness/src/cli/init.js';
export { parseDuration, formatDuration } from './harness/src/scenario/duration.js';

/** What a caller may override, like the CLI's flags (rate, durationMs, runtime, prometheus…). */
export type ScenarioOverrides = CliOverrides;

/** The demo scenario shipped with the package (`zerodrop demo`). */
export function demoScenarioPath(): string {
  return join(projectRoot(), 'scenarios', 'demo.yaml');
}

/**
 * Loads and validates a scenario file (or `{ text }`: YAML in a string) and resolves it into a
 * plan. Throws ZerodropError ZD_BAD_SCENARIO listing every problem (file:line:column, fix).
 */
export function loadScenario(source: string | { text: string; file?: string }, overrides: ScenarioOverrides = {}): RunPlan {
  const loaded = typeof source === 'string' ? loadScenarioFile(source) : parseScenarioText(source.text, source.file ?? null);
  return resolvePlan(loaded, overrides);
}

export interface RunScenarioOptions {
  /** Abort: stop the load, tear down, write a report marked incomplete (INVALID). */
  signal?: AbortSignal;
  /** Abort: kill everything the run started at once, no report (rejects with ZD_INTERRUPTED). */
  kill?: AbortSignal;
  /** Progress and log lines (default: none). */
  log?: (line: string) => void;
  /** The live progress line (default: none). */
  progress?: (line: string, final?: boolean) => void;
  /** Shown in the reports as the command that ran (default "zerodrop (API)"). */
  command?: string;
}

/**
 * Runs a plan: starts the replicas, the data plane and the load, plays the timeline, verifies,
 * writes `reports/<run-id>/` (the plan's outDir) and tears everything down whatever happens.
 * Resolves with the typed result (`result.verdict`, `result.exitCode`, `result.checks`) and the
 * per-request ledger.
 */
export async function runScenario(plan: RunPlan, options: RunScenarioOptions = {}): Promise<RunOutcome> {
  return await runPlan({
    plan,
    command: options.command ?? 'zerodrop (API)',
    io: { log: options.log ?? (() => undefined), progress: options.progress ?? (() => undefined) },
    signal: options.signal ?? new AbortController().signal,
    ...(options.kill ? { kill: options.kill } : {}),
  });
}
