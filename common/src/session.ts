/**
 * Linux sessions and what rides on them, read from /proc: whether the kernel ranks sessions as
 * autogroups, whether this process leads its session, and whether `setpriv --pdeathsig` works.
 * Shared by the orchestrator's CPU priorities and process supervision and by the CLI, which runs
 * the harness as a session of its own (harness/src/cli/own-session.ts) and must stay light to load.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** Where a run's CPU priorities are chosen (orchestrator/src/runtime/priorities.ts parses it). */
export const CPU_PRIORITIES_ENV = 'ZERODROP_CPU_PRIORITIES';

/** The kernel ranks sessions as autogroups (kernel.sched_autogroup_enabled = 1). */
export function autogroupsEnabled(): boolean {
  try {
    return readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

/** This process leads its session (/proc/self/stat field 6), so the session's autogroup is its own. */
export function leadsOwnSession(): boolean {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]) === process.pid;
  } catch {
    return false;
  }
}

let setprivOk: boolean | null = null;
/** `setpriv --pdeathsig` works here (probed once per process). */
export function hasSetprivPdeathsig(): boolean {
  if (setprivOk !== null) return setprivOk;
  if (process.platform !== 'linux' || !existsSync('/usr/bin/setpriv')) return (setprivOk = false);
  return (setprivOk = spawnSync('setpriv', ['--pdeathsig', 'SIGKILL', '--', 'true'], { stdio: 'ignore' }).status === 0);
}

/** argv prefixed with `setpriv --pdeathsig SIGKILL --` when that works here: the child dies with its parent. */
export function withPdeathsig(argv: readonly string[]): string[] {
  return hasSetprivPdeathsig() ? ['setpriv', '--pdeathsig', 'SIGKILL', '--', ...argv] : [...argv];
}
