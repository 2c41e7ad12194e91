/**
 * CPU priorities of a run on one machine (issue 12, item 5). On a real cluster the load generator
 * and the load balancer run on other machines than the service; here they share the cores, so:
 *   - the harness process (driver, Node proxy threads) and the data plane it spawns (HAProxy
 *     inherits the nice value at fork) run at `harness` (negative: they outrank every replica);
 *   - a replica runs at `booting` from spawn until its readiness probe first passes, then at
 *     `serving`: a booting replica's ~0.1 s of start-up CPU never preempts the replicas that
 *     serve the traffic (an earlier experiment that put every replica at nice +15 made rollouts
 *     worse: the serving ones starved too).
 * Linux nice values, applied to every thread of a process (setpriority is per thread on Linux; a
 * thread created later inherits its creator's). Lowering a nice value needs CAP_SYS_NICE: when
 * that is refused, nothing is changed and `notApplied` says why.
 *
 * Autogroups: with kernel.sched_autogroup_enabled (the default of most distributions) every
 * session is a scheduling group of its own and thread nice values only rank threads inside one
 * session. Every replica, HAProxy and Prometheus is spawned detached (setsid: a session of its
 * own), so each competed with the whole harness as an equal whatever its nice: during a rollout
 * the driver had 1 share in 10 and its event loop ran up to 400 ms late (demo at 3,000 req/s).
 * The rank that counts there is the autogroup's nice (/proc/PID/autogroup, sched(7)): it is set
 * too, for this process's session and for each child leading one of its own.
 *
 * On by default (DEFAULT_CPU_PRIORITIES); ZERODROP_CPU_PRIORITIES=off leaves every nice value
 * alone, or e.g. `harness=-5,booting=10,serving=0` picks them. Measured on the quiet 2-core VM,
 * the demo (30 s, rollout and zone crash): off, 4,000 req/s was INVALID 2 of 2 (the driver's loop
 * up to 298 ms late); on, 4,000 to 7,500 req/s PASSed 2 of 2 at each of five rates.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { ZerodropError } from '../../../common/src/errors.js';

export interface CpuPriorityPlan {
  harness: number;
  booting: number;
  serving: number;
}

/** What a run used (result.json run.cpuPriorities). */
export interface CpuPriorities {
  /** The nice values applied, or null when none was (opted out, or not permitted). */
  applied: CpuPriorityPlan | null;
  /** Why they were not applied (null when they were). */
  notApplied: string | null;
}

export const DEFAULT_CPU_PRIORITIES: CpuPriorityPlan = { harness: -5, booting: 10, serving: 0 };
export const CPU_PRIORITIES_ENV = 'ZERODROP_CPU_PRIORITIES';

/** `off` → null; unset or `on` → the defaults; `harness=-5,booting=10,serving=0` (any subset, the rest default) → the plan. */
export function parseCpuPriorities(raw: string | undefined): CpuPriorityPlan | null {
  if (raw !== undefined && raw.trim() === 'off') return null;
  if (raw === undefined || raw.trim() === '' || raw.trim() === 'on') return { ...DEFAULT_CPU_PRIORITIES };
  const plan = { ...DEFAULT_CPU_PRIORITIES };
  for (const part of raw.split(',')) {
    const m = /^\s*(harness|booting|serving)\s*=\s*(-?\d{1,2})\s*$/.exec(part);
    const n = m ? Number(m[2]) : Number.NaN;
    if (!m || n < -20 || n > 19) {
      throw new ZerodropError('ZD_BAD_USAGE', `${CPU_PRIORITIES_ENV}=${raw}: "${part}" is not name=nice`, {
        fix: `set ${CPU_PRIORITIES_ENV} to off, on (${formatPlan(DEFAULT_CPU_PRIORITIES)}), or harness=N,booting=N,serving=N with nice values from -20 to 19`,
      });
    }
    plan[m[1] as keyof CpuPriorityPlan] = n;
  }
  return plan;
}

export function formatPlan(p: CpuPriorityPlan): string {
  return `harness=${p.harness},booting=${p.booting},serving=${p.serving}`;
}

/** The nice value of a process's main thread (/proc/PID/stat field 19). */
export function niceOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command (which may hold spaces), from field 3 (state): field 19 is index 16.
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

/**
 * Sets the nice value of every thread of `pid`: the main thread first (threads it creates from
 * now on inherit it), then every thread listed in /proc/PID/task. Returns null when done, or the
 * error (EPERM...) of the first thread that refused. A process that is gone is not an error.
 */
export function reniceProcess(pid: number, nice: number): string | null {
  try {
    os.setPriority(pid, nice);
  } catch (err) {
    return gone(pid) ? null : errText(err);
  }
  if (pid === process.pid || leadsOwnAutogroup(pid)) {
    const err = setAutogroupNice(pid, nice);
    if (err !== null) return err;
  }
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null; // exited meanwhile
  }
  for (const tid of tids) {
    if (Number(tid) === pid) continue;
    try {
      os.setPriority(Number(tid), nice);
    } catch (err) {
      if (!gone(Number(tid))) return errText(err);
    }
  }
  return null;
}

/** "/autogroup-123 nice 0" → "/autogroup-123"; null without autogroup support (or the process is gone). */
export function autogroupOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/autogroup`, 'utf8').split(' ')[0] ?? null;
  } catch {
    return null;
  }
}

/** The nice of the autogroup `pid` is in (0 without autogroup support). */
export function autogroupNiceOf(pid: number): number {
  try {
    const m = / nice (-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Writes the nice of the autogroup `pid` is in; null when done or when the kernel has none. */
export function setAutogroupNice(pid: number, nice: number): string | null {
  const path = `/proc/${pid}/autogroup`;
  if (!existsSync(path)) return null;
  try {
    writeFileSync(path, String(nice));
    return null;
  } catch (err) {
    return gone(pid) ? null : errText(err);
  }
}

/**
 * A child spawned detached leads a new session, whose autogroup starts at nice 0 whatever the
 * harness's: give it the harness's autogroup nice, as a fork inherits a thread's nice. A replica
 * is then set to its own phase's value by the process runtime.
 */
export function inheritAutogroupNice(childPid: number): void {
  const nice = autogroupNiceOf(process.pid);
  if (nice !== 0 && leadsOwnAutogroup(childPid)) setAutogroupNice(childPid, nice);
}

/** `pid` is in another autogroup than this process (a session of its own, e.g. spawned detached). */
function leadsOwnAutogroup(pid: number): boolean {
  return autogroupOf(pid) !== autogroupOf(process.pid);
}

/** This process (the harness: driver, proxy threads) and what it spawns from now on (HAProxy) at plan.harness. */
export function applyHarnessPriority(plan: CpuPriorityPlan | null): CpuPriorities {
  if (plan === null) return { applied: null, notApplied: `off: ${CPU_PRIORITIES_ENV}=off` };
  savedAutogroupNice ??= autogroupNiceOf(process.pid);
  const err = reniceProcess(process.pid, plan.harness);
  if (err !== null) return { applied: null, notApplied: `nice ${plan.harness} for the harness was refused (${err}): run as root or with CAP_SYS_NICE` };
  return { applied: plan, notApplied: null };
}

/** The harness's autogroup nice before the run: the session (a terminal's, CI's) outlives the run. */
let savedAutogroupNice: number | null = null;

/** Gives this process's session its autogroup nice back (the thread nice values die with the process). */
export function restoreHarnessPriority(): void {
  if (savedAutogroupNice === null) return;
  setAutogroupNice(process.pid, savedAutogroupNice);
  savedAutogroupNice = null;
}

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

function errText(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  return typeof e.code === 'string' ? e.code : String(e.message ?? err);
}
