/**
 * The reaper's notion of "the run that recorded these groups is gone": a live owner keeps its
 * groups; a dead one, or a zombie one (SIGKILLed, not yet waited for by its parent, so its /proc
 * entry and start time are still there), has them SIGKILLed and its state file removed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { processAlive, processStartTime, reapOrphanedGroups } from '../../src/runtime/process-registry.js';

const started: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const c of started.splice(0)) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A shell whose child `sleep 0` exits and is never waited for (the shell exec'd a sleep): a zombie. */
async function zombie(): Promise<{ pid: number; parent: ChildProcess }> {
  const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  started.push(parent);
  const pid = await new Promise<number>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
  const deadline = Date.now() + 5000;
  while (!/\) Z /.test(readStat(pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return { pid, parent };
}

function readStat(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return '';
  }
}

function stateFile(dir: string, ownerPid: number, ownerStartTime: string, pgid: number): string {
  const path = join(dir, `run-${ownerPid}.json`);
  writeFileSync(path, JSON.stringify({ runId: `run-${ownerPid}`, ownerPid, ownerStartTime, groups: [{ pgid, startTime: processStartTime(pgid) }] }));
  return path;
}

describe('process-group reaper', () => {
  it('a zombie is not alive; a running process is', async () => {
    const { pid } = await zombie();
    const start = processStartTime(pid);
    expect(start, 'the zombie still has a /proc entry with its start time').not.toBeNull();
    expect(processAlive(pid, start!)).toBe(false);
    expect(processAlive(process.pid, processStartTime(process.pid)!)).toBe(true);
    expect(processAlive(process.pid, 'not-the-start-time')).toBe(false);
  });

  it("kills the groups of a zombie owner, leaves a live owner's alone", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zd-reaper-'));
    dirs.push(dir);
    const victim = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    const bystander = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    started.push(victim, bystander);
    const { pid: owner } = await zombie();
    const dead = stateFile(dir, owner, processStartTime(owner)!, victim.pid!);
    const live = stateFile(dir, process.pid, processStartTime(process.pid)!, bystander.pid!);
    const exited = new Promise<NodeJS.Signals | null>((resolve) => victim.once('exit', (_c, s) => resolve(s)));

    expect(reapOrphanedGroups(dir)).toBe(1);
    expect(await exited).toBe('SIGKILL');
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(bystander.exitCode).toBeNull();
  });
});
