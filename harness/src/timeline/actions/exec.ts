/**
 * exec: run a command under load (a deploy script, `kubectl rollout restart`, `nginx -s reload`,
 * `zerodrop ctl … rollout`), optionally followed by `until`, polled until it exits 0 (e.g.
 * `kubectl rollout status`). Its disruption window is the time it ran. A non-zero exit or a
 * timeout FAILs its check with the exit code and the tail of stderr; a command that is not found
 * is INVALID (the run could not do what it was asked, the service is not to blame).
 */
import { z } from 'zod';
import { monotonicMs } from '../../../../common/src/clock.js';
import { execWithDeadline } from '../../../../orchestrator/index.js';
import type { ExecResult } from '../../../../orchestrator/index.js';
import { formatDuration } from '../../scenario/duration.js';
import { duration, envMap } from '../../scenario/fields.js';
import { stepCheck, type ActionDef, type StepBase, type StepResult } from '../types.js';

const argv = z.array(z.string().min(1)).min(1);

const schema = z.strictObject({
  at: duration,
  action: z.literal('exec'),
  command: argv,
  /** Polled (every `interval`) after command succeeded, until it exits 0. */
  until: argv.optional(),
  interval: duration.default(1000),
  /** For command and every poll of until together. */
  timeout: duration.default(60_000),
  env: envMap.default({}),
});

export interface ExecStep extends StepBase {
  kind: 'exec';
  command: string[];
  until: string[] | null;
  intervalMs: number;
  timeoutMs: number;
  env: Record<string, string>;
}

const NOT_FOUND_FIX = "fix: install it, or give its full path in the step (the command runs with the harness's PATH)";

export const exec: ActionDef<z.output<typeof schema>, ExecStep> = {
  action: 'exec',
  schema,
  fixes: {
    'timeline.*.command': 'argv as a list, e.g. command: ["kubectl", "rollout", "restart", "deploy/web"]',
    'timeline.*.until': 'argv polled until it exits 0, e.g. until: ["kubectl", "rollout", "status", "deploy/web", "--timeout=5s"]',
    'timeline.*.timeout': 'the longest the command (and its until polls) may take, e.g. timeout: 60s',
  },
  plan: (step) => ({
    atMs: step.at,
    kind: 'exec',
    label: `exec ${step.command.join(' ')} at ${formatDuration(step.at)}`,
    command: step.command,
    until: step.until ?? null,
    intervalMs: step.interval,
    timeoutMs: step.timeout,
    env: step.env,
  }),
  async execute(step, { log }) {
    const deadline = monotonicMs() + step.timeoutMs;
    const env = { ...process.env, ...step.env };
    const first = await execWithDeadline(step.command, { env, timeoutMs: step.timeoutMs });
    const judged = judge(step.command, first, step.timeoutMs);
    if (judged.outcome !== 'done' || step.until === null) {
      log(`${judged.outcome === 'done' ? '✔' : '✘'} ${step.label}: ${judged.detail}`);
      return judged;
    }
    for (let polls = 1; ; polls++) {
      const left = deadline - monotonicMs();
      if (left <= 0)
        return {
          outcome: 'failed',
          detail: `until ${step.until.join(' ')} did not exit 0 within the step's timeout (${formatDuration(step.timeoutMs)}, ${polls - 1} polls)`,
        };
      const r = await execWithDeadline(step.until, { env, timeoutMs: left });
      if (r.error !== null) return judge(step.until, r, left);
      if (r.exitCode === 0) {
        log(`✔ ${step.label}: ${judged.detail}; until exited 0 after ${polls} poll${polls > 1 ? 's' : ''}`);
        return { outcome: 'done', detail: `${judged.detail}; until ${step.until.join(' ')} exited 0 after ${polls} poll${polls > 1 ? 's' : ''}` };
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(step.intervalMs, Math.max(0, deadline - monotonicMs()))));
    }
  },
  checks(step, id, ran) {
    const status = ran.outcome === 'failed' ? 'fail' : ran.outcome === 'invalid' ? 'invalid' : 'pass';
    return [
      stepCheck(
        id,
        step.label,
        status,
        step.until ? 'the command exits 0, then until exits 0, within the timeout' : 'the command exits 0 within the timeout',
        ran.detail ?? ran.outcome,
        status === 'fail' ? 'the step itself failed (see its exit code and stderr): the deployment did not do what the timeline asked' : undefined,
      ),
    ];
  },
  disruptionKind: 'exec',
};

function judge(command: string[], r: ExecResult, timeoutMs: number): StepResult {
  const shown = command.join(' ');
  const tail = r.stderrTail.length > 0 ? `; stderr: ${r.stderrTail.slice(-5).join(' | ')}` : '';
  if (r.error !== null) {
    if (r.error.startsWith('command not found')) return { outcome: 'invalid', detail: `${r.error} (${shown}); ${NOT_FOUND_FIX}` };
    return { outcome: 'invalid', detail: `${shown} could not run: ${r.error}` };
  }
  if (r.timedOut) return { outcome: 'failed', detail: `${shown} timed out after ${formatDuration(timeoutMs)} (killed)${tail}` };
  if (r.exitCode !== 0) return { outcome: 'failed', detail: `${shown} exited ${r.exitCode ?? 'by a signal'}${tail}` };
  return { outcome: 'done', detail: `${shown} exited 0 in ${(r.durationMs / 1000).toFixed(1)} s` };
}
