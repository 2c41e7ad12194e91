/**
 * Runs a replica's preStop hook before its stop signal, as the kubelet does: the hook's time
 * counts against the grace period, and a hook that fails or overruns does not stop the
 * termination (the kubelet logs a FailedPreStopHook event and sends the signal anyway).
 */
import { httpProbe } from '../probe.js';
import type { HostPort } from '../runtime/types.js';
import type { ExecResult, PreStopHook } from './types.js';

export interface PreStopOutcome {
  ok: boolean;
  /** One line for the timeline: "exec nginx -s quit: exit 0 in 12 ms". */
  detail: string;
}

export interface PreStopContext {
  endpoint: HostPort;
  /** Runs argv in the replica's environment (Runtime.exec), bounded by timeoutMs. */
  exec: ((command: string[], timeoutMs: number) => Promise<ExecResult>) | null;
  timeoutMs: number;
}

export async function runPreStop(hook: PreStopHook, ctx: PreStopContext): Promise<PreStopOutcome> {
  if (hook.kind === 'httpGet') {
    const target = { host: ctx.endpoint.host, port: hook.port ?? ctx.endpoint.port };
    const r = await httpProbe(target, hook.path, Math.max(1, ctx.timeoutMs));
    return {
      ok: r.ok,
      detail: `httpGet ${hook.path} on port ${target.port}: ${r.ok ? `HTTP ${r.status}` : (r.error ?? 'failed')} in ${Math.round(r.durationMs)} ms`,
    };
  }
  const shown = hook.command.join(' ');
  if (ctx.exec === null) return { ok: false, detail: `exec ${shown}: this runtime cannot run commands in a replica` };
  const r = await ctx.exec(hook.command, Math.max(1, ctx.timeoutMs));
  const ok = r.exitCode === 0;
  const how = r.error ?? (r.timedOut ? `timed out after ${ctx.timeoutMs} ms` : `exit ${r.exitCode ?? 'none'}`);
  const tail = !ok && r.stderrTail.length > 0 ? ` (stderr: ${r.stderrTail.slice(-3).join(' | ')})` : '';
  return { ok, detail: `exec ${shown}: ${how} in ${Math.round(r.durationMs)} ms${tail}` };
}
