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
 * for each replica (a session of its own) at its phase's nice minus the harness's, relative to the
 * harness's own autogroup. That one is written only when the harness leads its session: the CLI
 * runs the harness as a session of its own (harness/src/cli/own-session.ts). A session it does not
 * lead (a library call, a test worker) is shared with the shell or CI job that started it and with
 * every other run started from it: a run that changed it and gave it back raced the others, and a
 * run killed with SIGKILL could not give it back at all. There the harness keeps its rank by the
 * replicas' autogroups alone (and the containers' cpu.shares, docker-priority.ts).
 *
 * On by default (DEFAULT_CPU_PRIORITIES); ZERODROP_CPU_PRIORITIES=off leaves every nice value
 * alone, or e.g. `harness=-5,booting=10,serving=0` picks them. Measured on the quiet 2-core VM,
 * the demo (30 s, rollout and zone crash): off, 4,000 req/s was INVALID 2 of 2 (the driver's loop
 * up to 298 ms late); on, 4,000 to 7,500 req/s PASSed 2 of 2 at each of five rates.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { ZerodropError } from '../../../common/src/errors.js';
import { autogroupsEnabled, CPU_PRIORITIES_ENV, leadsOwnSession } from '../../../common/src/session.js';

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
  /**
   * Whose autogroup the harness ranks in, when priorities were applied on a kernel with autogroups:
   * 'own' (it leads its session and set that autogroup) or 'shared' (the caller's, left alone:
   * replicas and containers are ranked below it instead).
   */
  session?: 'own' | 'shared';
}

export const DEFAULT_CPU_PRIORITIES: CpuPriorityPlan = { harness: -5, booting: 10, serving: 0 };

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

/** The kernel's CPU weight of each nice value -20..19 (sched_prio_to_weight; nice 0 weighs 1024). */
const NICE_WEIGHTS = [
  88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904, 3906, 3121, 2501, 1991, 1586, 1277, 1024, 820, 655, 526, 423,
  335, 272, 215, 172, 137, 110, 87, 70, 56, 45, 36, 29, 23, 18, 15,
];

/** The scheduler weight of a nice value (what an autogroup at that nice, or a cgroup of that many cpu.shares, weighs). */
export function niceWeight(nice: number): number {
  return NICE_WEIGHTS[Math.min(19, Math.max(-20, Math.round(nice))) + 20]!;
}

/** Nice values of a process-runtime replica in each phase, and the harness's they rank against. */
export interface ReplicaPriorities {
  booting: number;
  serving: number;
  /** The harness's nice (default 0): a replica's autogroup is set `phase - harness` from the harness's session's. */
  harness?: number;
}

/**
 * How much nicer the harness asks to be than its autogroup is: 0 when it leads its session and set
 * it (the CLI), the whole `harness` in a shared session at 0, which is never written. Replicas'
 * autogroups and containers' cpu.shares (docker-priority.ts) come down by this instead.
 */
export function harnessShortfall(harness: number | undefined): number {
  return (harness ?? 0) - autogroupNiceOf(process.pid);
}

/**
 * The autogroup nice of a replica in `phase`: its phase's nice, lowered by what the harness's
 * autogroup lacks (the same weights as if that autogroup were at `harness`), clamped to -20..19.
 */
export function replicaAutogroupNice(p: ReplicaPriorities, phase: 'booting' | 'serving'): number {
  return Math.min(19, Math.max(-20, p[phase] - harnessShortfall(p.harness)));
}

/**
 * Sets the nice value of every thread of `pid`: the main thread first (threads it creates from
 * now on inherit it), then every thread listed in /proc/PID/task; and, when `pid` leads an
 * autogroup of its own (never this process's session), that autogroup's nice to `autogroupNice`.
 * Returns null when done, or the error (EPERM...) of the first that refused. A process that is
 * gone is not an error.
 */
export function reniceProcess(pid: number, nice: number, autogroupNice: number = nice): string | null {
  try {
    os.setPriority(pid, nice);
  } catch (err) {
    return gone(pid) ? null : errText(err);
  }
  if (pid !== process.pid && leadsOwnAutogroup(pid)) {
    const err = setAutogroupNice(pid, autogroupNice);
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

/**
 * Every thread of this process (the harness: driver, proxy threads) and what it spawns from now
 * on (HAProxy) at plan.harness; its session's autogroup too, only when it leads that session (see
 * the header).
 */
export function applyHarnessPriority(plan: CpuPriorityPlan | null): CpuPriorities {
  if (plan === null) return { applied: null, notApplied: `off: ${CPU_PRIORITIES_ENV}=off` };
  savedNice ??= os.getPriority(process.pid);
  const err = reniceProcess(process.pid, plan.harness);
  if (err !== null) return { applied: null, notApplied: `nice ${plan.harness} for the harness was refused (${err}): run as root or with CAP_SYS_NICE` };
  if (!autogroupsEnabled()) return { applied: plan, notApplied: null };
  if (!leadsOwnSession()) return { applied: plan, notApplied: null, session: 'shared' };
  savedAutogroupNice ??= autogroupNiceOf(process.pid);
  setAutogroupNice(process.pid, plan.harness);
  return { applied: plan, notApplied: null, session: 'own' };
}

/** The harness's nice before its first run: a process that runs the harness as a library outlives the run. */
let savedNice: number | null = null;
/** Its own session's autogroup nice before the run (only ever written when it leads that session). */
let savedAutogroupNice: number | null = null;

/** Gives this process's threads (and the session it leads) their nice values back (raising needs no privilege). */
export function restoreHarnessPriority(): void {
  if (savedNice !== null) reniceProcess(process.pid, savedNice);
  if (savedAutogroupNice !== null) setAutogroupNice(process.pid, savedAutogroupNice);
  savedNice = null;
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
