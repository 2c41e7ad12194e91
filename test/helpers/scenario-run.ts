/**
 * Runs a whole scenario in-process through the real runner (real replicas, real proxy worker,
 * real driver worker, real reports) and answers the questions tests ask about it.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenario, type RunOutcome } from '../../harness/src/run/runner.js';
import { parseScenarioText } from '../../harness/src/scenario/load.js';
import { resolvePlan, type CliOverrides } from '../../harness/src/scenario/resolve.js';
import type { Check, RunResult } from '../../harness/src/result/types.js';

export interface ScenarioRun extends RunOutcome {
  logs: string[];
}

export function tempReportsDir(prefix = 'zd-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function runYaml(yaml: string, overrides: CliOverrides = {}, signal?: AbortSignal): Promise<ScenarioRun> {
  const loaded = parseScenarioText(yaml, 'test.yaml');
  const plan = resolvePlan(loaded, { outDir: tempReportsDir(), ...overrides });
  const logs: string[] = [];
  const outcome = await runScenario({
    plan,
    command: 'vitest',
    io: { log: (l) => logs.push(l), progress: () => undefined },
    signal: signal ?? new AbortController().signal,
  });
  return { ...outcome, logs };
}

export function checkOf(result: RunResult, id: string): Check {
  const c = result.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id}; checks: ${result.checks.map((x) => x.id).join(', ')}`);
  return c;
}

/** A one-screen explanation for a failed expectation. */
export function explain(result: RunResult): string {
  const bad = result.checks.filter((c) => c.status !== 'pass' && c.status !== 'skip');
  return [
    result.headline,
    ...bad.map((c) => `${c.status} ${c.id}: expected ${c.expected}; actual ${c.actual}${c.explanation ? ` — ${c.explanation}` : ''}`),
    `failures by step: ${JSON.stringify(result.failures.byStep)}`,
    `proxy retries: ${JSON.stringify(result.proxy.retries)} saved ${result.proxy.savedByRetry}`,
  ].join('\n');
}

/** Pids of live processes whose environment carries ZERODROP_RUN_ID=<runId> (replicas of that run). */
export function processesOfRun(runId: string): number[] {
  const needle = `ZERODROP_RUN_ID=${runId}`;
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const env = readFileSync(`/proc/${name}/environ`, 'utf8');
      if (env.split('\0').includes(needle)) pids.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}
