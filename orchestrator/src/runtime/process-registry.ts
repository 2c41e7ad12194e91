/**
 * No orphans, even after SIGKILL. Two layers:
 * 1. Every replica is exec'd through `setpriv --pdeathsig SIGKILL` (util-linux): the kernel kills it
 *    the moment the orchestrator's main thread dies, whatever killed it.
 * 2. A replica may fork grandchildren (`sh -c`, `npm start`); pdeathsig does not reach them. Each
 *    replica runs in its own process group, and every group is recorded in a small state file per
 *    run. The next run reaps groups whose owner is dead (the testcontainers "reap by label"
 *    habit, with the process start time standing in for the label so a reused pid is never hit).
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RecordedGroup {
  pgid: number;
  /** Field 22 of /proc/<pid>/stat, to tell a reused pid from ours. */
  startTime: string;
}

interface RunStateFile {
  runId: string;
  ownerPid: number;
  ownerStartTime: string;
  groups: RecordedGroup[];
}

export function defaultStateDir(): string {
  return join(tmpdir(), `zerodrop-${process.getuid?.() ?? 'user'}`, 'process-groups');
}

/** The fields of /proc/<pid>/stat the registry needs, or null if the process is gone. */
interface ProcStat {
  /** Field 3: R, S, D, Z (zombie), X (dead)… */
  state: string;
  /** Field 5. */
  pgrp: number;
  /** Field 22: clock ticks since boot; with the pid, it names one process for good. */
  startTime: string;
}

function readProcStat(pid: number | string): ProcStat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTime = rest[19];
    return startTime === undefined ? null : { state: rest[0] ?? '', pgrp: Number(rest[2]), startTime };
  } catch {
    return null;
  }
}

/** Start time of a live process (clock ticks since boot), or null if it is gone. */
export function processStartTime(pid: number): string | null {
  return readProcStat(pid)?.startTime ?? null;
}

/**
 * True while the process with this pid and start time is running. A zombie (state Z: dead, not
 * yet waited for by its parent) keeps its /proc entry and start time, but it owns nothing any
 * more: a SIGKILLed harness whose parent has not reaped it yet is dead.
 */
export function processAlive(pid: number, startTime: string): boolean {
  const s = startTime === '' ? null : readProcStat(pid);
  return s !== null && s.startTime === startTime && s.state !== 'Z' && s.state !== 'X';
}

export class ProcessGroupRegistry {
  private readonly file: string;
  private readonly state: RunStateFile;

  constructor(
    runId: string,
    private readonly dir: string = defaultStateDir(),
  ) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, `${sanitize(runId)}.json`);
    this.state = {
      runId,
      ownerPid: process.pid,
      ownerStartTime: processStartTime(process.pid) ?? '',
      groups: [],
    };
  }

  add(pgid: number): void {
    const startTime = processStartTime(pgid);
    if (startTime === null) return;
    this.state.groups.push({ pgid, startTime });
    this.flush();
  }

  remove(pgid: number): void {
    this.state.groups = this.state.groups.filter((g) => g.pgid !== pgid);
    this.flush();
  }

  /** Forget the run (all its groups are gone). */
  dispose(): void {
    rmSync(this.file, { force: true });
  }

  private flush(): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state));
    renameSync(tmp, this.file);
  }
}

/**
 * SIGKILLs the process groups of runs whose owner process is gone, and deletes their state files.
 * Returns the number of groups killed. Safe to call concurrently with other live runs: their
 * owner is alive, so their files are left alone.
 */
export function reapOrphanedGroups(dir: string = defaultStateDir()): number {
  let killed = 0;
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return 0;
  }
  for (const name of names) {
    const path = join(dir, name);
    let state: RunStateFile;
    try {
      state = JSON.parse(readFileSync(path, 'utf8')) as RunStateFile;
    } catch {
      rmSync(path, { force: true });
      continue;
    }
    if (processAlive(state.ownerPid, state.ownerStartTime)) continue;
    for (const group of state.groups) {
      if (!isOurGroup(group)) continue;
      try {
        process.kill(-group.pgid, 'SIGKILL');
        killed++;
      } catch {
        // already gone
      }
    }
    rmSync(path, { force: true });
  }
  return killed;
}

/**
 * True if the recorded group still has members. A pid cannot be reused while it is still the
 * process group id of a live process, so: leader alive with the recorded start time → ours;
 * leader gone but members with that pgrp left → ours (orphaned grandchildren); else not ours.
 */
function isOurGroup(group: RecordedGroup): boolean {
  const leaderStart = processStartTime(group.pgid);
  if (leaderStart !== null) return leaderStart === group.startTime;
  return groupHasMembers(group.pgid);
}

function groupHasMembers(pgid: number): boolean {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return false;
  }
  // (a process that exits meanwhile reads as null)
  return pids.some((pid) => readProcStat(pid)?.pgrp === pgid);
}

function sanitize(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_');
}
