/**
 * Reap by label (testcontainers' habit, without the Ryuk sidecar): every container zerodrop
 * creates carries `zerodrop=1`, its run id, and the identity of the process that owns the run
 * (pid + its start time from /proc + hostname + kernel boot id). A run is dead when that exact
 * process is gone — a reused pid has another start time, a reboot another boot id — and its
 * containers are removed at the next start (prepare) and at close/destroy, even if the owner
 * was SIGKILLed. Containers without `zerodrop=1` are never listed, so never touched; containers
 * of a live run (this one or a concurrent one) and containers owned from another host are kept.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type Docker from 'dockerode';
import { errorMessage } from '../../../common/src/errors.js';
import { engineStatus } from './docker-engine.js';
import { processAlive, processStartTime } from './process-registry.js';

export const LABELS = {
  managed: 'zerodrop',
  runId: 'zerodrop.run-id',
  deployment: 'zerodrop.deployment',
  zone: 'zerodrop.zone',
  version: 'zerodrop.version',
  revision: 'zerodrop.revision',
  replica: 'zerodrop.replica',
  ownerPid: 'zerodrop.owner-pid',
  ownerStart: 'zerodrop.owner-start',
  ownerHost: 'zerodrop.owner-host',
  ownerBoot: 'zerodrop.owner-boot',
} as const;

export interface RunOwner {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot). */
  startTime: string;
  host: string;
  bootId: string;
}

let cachedBootId: string | null = null;
function bootId(): string {
  if (cachedBootId !== null) return cachedBootId;
  try {
    cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    cachedBootId = '';
  }
  return cachedBootId;
}

export function currentOwner(): RunOwner {
  return { pid: process.pid, startTime: processStartTime(process.pid) ?? '', host: hostname(), bootId: bootId() };
}

export function ownerLabels(owner: RunOwner): Record<string, string> {
  return {
    [LABELS.ownerPid]: String(owner.pid),
    [LABELS.ownerStart]: owner.startTime,
    [LABELS.ownerHost]: owner.host,
    [LABELS.ownerBoot]: owner.bootId,
  };
}

export type OwnerState =
  | 'alive'
  | 'dead'
  /** No owner labels, or owned from another host: we cannot tell, so we leave it. */
  | 'unknown';

/** Is the run that created a container (by its labels) still alive, as seen from this host? */
export function ownerState(labels: Record<string, string> | undefined, here: RunOwner = currentOwner()): OwnerState {
  const pid = Number(labels?.[LABELS.ownerPid]);
  const start = labels?.[LABELS.ownerStart];
  const host = labels?.[LABELS.ownerHost];
  if (!Number.isInteger(pid) || pid <= 0 || !start || !host) return 'unknown';
  if (host !== here.host) return 'unknown';
  const boot = labels?.[LABELS.ownerBoot];
  if (boot && here.bootId && boot !== here.bootId) return 'dead'; // the machine rebooted since
  return processAlive(pid, start) ? 'alive' : 'dead';
}

export interface ReapResult {
  /** Names (or short ids) of the containers removed. */
  removed: string[];
  /** Dead runs whose containers were removed. */
  runs: string[];
  /** zerodrop containers left alone because their owner may be alive elsewhere. */
  unknown: number;
}

interface ListedContainer {
  Id: string;
  Names?: string[];
  Labels?: Record<string, string>;
}

function nameOf(c: ListedContainer): string {
  return c.Names?.[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12);
}

/** Lists the containers carrying zerodrop=1 (optionally of one run), running or not. */
export async function listZerodropContainers(docker: Docker, runId?: string): Promise<ListedContainer[]> {
  const label = [`${LABELS.managed}=1`];
  if (runId !== undefined) label.push(`${LABELS.runId}=${runId}`);
  return await docker.listContainers({ all: true, filters: { label } });
}

/** Force-removes one container (and its anonymous volumes); a missing one counts as removed. */
export async function removeContainer(docker: Docker, id: string): Promise<void> {
  try {
    await docker.getContainer(id).remove({ force: true, v: true });
  } catch (err) {
    const status = engineStatus(err);
    if (status === 404) return;
    // 409 "removal already in progress" — someone else (a concurrent reap) is on it.
    if (status === 409 && /already in progress/i.test(errorMessage(err))) return;
    throw err;
  }
}

/** Removes the containers of every dead run. Never touches live runs or unlabelled containers. */
export async function reapDeadRuns(docker: Docker, log?: (line: string) => void): Promise<ReapResult> {
  const here = currentOwner();
  const result: ReapResult = { removed: [], runs: [], unknown: 0 };
  const runs = new Set<string>();
  for (const c of await listZerodropContainers(docker)) {
    const state = ownerState(c.Labels, here);
    if (state === 'alive') continue;
    if (state === 'unknown') {
      result.unknown++;
      continue;
    }
    try {
      await removeContainer(docker, c.Id);
      result.removed.push(nameOf(c));
      runs.add(c.Labels?.[LABELS.runId] ?? '?');
    } catch (err) {
      log?.(`docker: could not remove ${nameOf(c)} of a dead run: ${errorMessage(err)}`);
    }
  }
  result.runs = [...runs];
  if (result.removed.length > 0) {
    log?.(`docker: removed ${result.removed.length} container(s) left by dead run(s) ${result.runs.join(', ')}`);
  }
  return result;
}

/** Removes every container of one run (ours, at close). */
export async function removeRunContainers(docker: Docker, runId: string): Promise<string[]> {
  const removed: string[] = [];
  for (const c of await listZerodropContainers(docker, runId)) {
    await removeContainer(docker, c.Id);
    removed.push(nameOf(c));
  }
  return removed;
}
