/**
 * Measuring helpers shared by the bench scripts (bench.ts and its proxy and driver subcommands):
 * process CPU from /proc, wrk runs and their parsing, medians, child teardown.
 * Linux only (/proc); everything bounded; loopback only.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { signalGroup } from '../../orchestrator/index.js';

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
}

/** Clock ticks per second of /proc/PID/stat times. */
export const CLK_TCK = clockTicks();

/** [user, system] CPU seconds of a process, all threads (/proc/PID/stat utime, stime). */
export function cpuTimes(pid: number): [number, number] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime = field 14, stime = field 15
  return [Number(fields[11]) / CLK_TCK, Number(fields[12]) / CLK_TCK];
}

/** utime + stime of a process, seconds, all threads. */
export function cpuSeconds(pid: number): number {
  const [u, s] = cpuTimes(pid);
  return u + s;
}

/** cpuSeconds, or null when the process is gone (or /proc is unreadable). */
export function cpuSecondsOrNull(pid: number): number | null {
  try {
    return cpuSeconds(pid);
  } catch {
    return null;
  }
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** SIGKILLs a child and waits for its exit (no-op when it already exited). */
export async function killChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGKILL');
  await exited;
}

/** killChild for a child spawned detached (its own process group, e.g. wrk under /usr/bin/time): the whole group. */
export async function killChildGroup(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  if (c.pid === undefined) c.kill('SIGKILL');
  else signalGroup(c.pid, 'SIGKILL');
  await exited;
}

export interface WrkOptions {
  url: string;
  seconds: number;
  /** Default 100. */
  connections?: number;
  /** Default 1. */
  threads?: number;
  /** Value of the x-zerodrop-id header wrk sends (default "bench"). */
  id?: string;
  /** Pass --latency (percentiles). Default true. */
  latency?: boolean;
  /** Run under /usr/bin/time to get wrk's own CPU (cpuSeconds); default false. */
  timeCpu?: boolean;
  /** Reject when wrk exits non-zero (default false: parse what it printed). */
  strictExit?: boolean;
  /**
   * Spawn wrk (and /usr/bin/time) in their own process group, so killChildGroup(child) ends
   * both (killChildGroup); a terminal Ctrl-C then no longer reaches wrk directly (the caller kills it). Default false.
   */
  group?: boolean;
  /** Called with the child as soon as it is spawned (so a SIGINT handler can kill it). */
  onSpawn?: (child: ChildProcess) => void;
}

export interface WrkResult {
  requests: number;
  seconds: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  /** Socket errors (connect, read, write, timeout) + non-2xx/3xx responses. */
  errors: number;
  /** wrk's own user+system CPU (timeCpu), else null. */
  cpuSeconds: number | null;
  output: string;
}

export function toMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

/** Parses wrk's text output (and /usr/bin/time's "CPU <user> <sys>" line when present). */
export function parseWrk(out: string): Omit<WrkResult, 'output'> | null {
  const total = /(\d+) requests in ([\d.]+)(ms|s|m)/.exec(out);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!total || !rps) return null;
  const p50 = /\s50%\s+(\S+)/.exec(out);
  const p99 = /\s99%\s+(\S+)/.exec(out);
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const cpu = /CPU ([\d.]+) ([\d.]+)/.exec(out);
  const unit = total[3];
  const secs = Number(total[2]) * (unit === 'ms' ? 0.001 : unit === 'm' ? 60 : 1);
  const errors = (errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0);
  return {
    requests: Number(total[1]),
    seconds: secs,
    rps: Number(rps[1]),
    p50ms: p50 ? toMs(p50[1]!) : Number.NaN,
    p99ms: p99 ? toMs(p99[1]!) : Number.NaN,
    errors,
    cpuSeconds: cpu ? Number(cpu[1]) + Number(cpu[2]) : null,
  };
}

export const TIME_BIN = '/usr/bin/time';
export const WRK_BIN = 'wrk';

/** One bounded wrk run (`wrk -tT -cC -dSs [--latency] -H 'x-zerodrop-id: ID' URL`). */
export function runWrk(o: WrkOptions): Promise<WrkResult> {
  const wrkArgs = [
    `-t${o.threads ?? 1}`,
    `-c${o.connections ?? 100}`,
    `-d${o.seconds}s`,
    ...(o.latency === false ? [] : ['--latency']),
    '-H',
    `x-zerodrop-id: ${o.id ?? 'bench'}`,
    o.url,
  ];
  const timed = o.timeCpu === true && existsSync(TIME_BIN);
  const [cmd, args] = timed ? [TIME_BIN, ['-f', 'CPU %U %S', WRK_BIN, ...wrkArgs]] : [WRK_BIN, wrkArgs];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: o.group === true });
    o.onSpawn?.(child);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    // 'close', not 'exit': 'exit' can fire before the pipes are drained, and then the summary
    // wrk printed last is not in `out` yet (seen as "could not parse wrk output:" and nothing after).
    child.on('close', (code, signal) => {
      if (o.strictExit === true && code !== 0) {
        reject(new Error(`wrk exited ${String(code ?? signal)}: ${out}`));
        return;
      }
      const parsed = parseWrk(out);
      if (!parsed) {
        reject(new Error(`could not parse wrk output (exit ${String(code ?? signal)}):\n${out}`));
        return;
      }
      resolve({ ...parsed, output: out });
    });
  });
}
