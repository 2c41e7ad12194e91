/**
 * A container's CPU as the kernel sees it, read from the host: its cgroup (found from the init
 * pid's /proc/<pid>/cgroup, cgroup v1 or v2), the CPU it used (cpuacct.usage / cpu.stat), the CPU
 * of its containerd-shim (the init's parent), and its CPU weight, set by writing the cgroup file
 * (microseconds) instead of `docker update` (an engine round trip: see the bench's docker row).
 * Every read is best effort: null when the file is not there or not readable.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const CGROUP_ROOT = '/sys/fs/cgroup';
/** USER_HZ: /proc/<pid>/stat counts CPU in ticks of 10 ms on Linux. */
const TICK_MS = 10;

export interface ContainerCgroup {
  version: 1 | 2;
  /** v1: the cpu controller's directory; v2: the unified directory. */
  cpuDir: string;
  /** v1: the cpuacct controller's directory; v2: the unified directory. */
  acctDir: string;
}

/** The cgroup of a pid, from /proc/<pid>/cgroup; null when unreadable. */
export function cgroupOf(pid: number): ContainerCgroup | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return null;
  }
  let cpu: string | null = null;
  let acct: string | null = null;
  let unified: string | null = null;
  for (const line of text.split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (controllers === undefined || path === undefined) continue;
    const names = controllers.split(',');
    if (controllers === '') unified = path;
    if (names.includes('cpu')) cpu = `${CGROUP_ROOT}/${controllers}${path}`;
    if (names.includes('cpuacct')) acct = `${CGROUP_ROOT}/${controllers}${path}`;
  }
  if (cpu !== null && acct !== null) return { version: 1, cpuDir: cpu, acctDir: acct };
  if (unified !== null) return { version: 2, cpuDir: `${CGROUP_ROOT}${unified}`, acctDir: `${CGROUP_ROOT}${unified}` };
  return null;
}

/** CPU the cgroup's tasks used since it was created, in ms. */
export function cgroupCpuMs(cg: ContainerCgroup): number | null {
  try {
    if (cg.version === 1) return Number(readFileSync(`${cg.acctDir}/cpuacct.usage`, 'utf8').trim()) / 1e6;
    const usec = /^usage_usec (\d+)/m.exec(readFileSync(`${cg.acctDir}/cpu.stat`, 'utf8'))?.[1];
    return usec === undefined ? null : Number(usec) / 1000;
  } catch {
    return null;
  }
}

/** utime + stime of a pid in ms, and its parent pid and name. */
export function procCpu(pid: number): { cpuMs: number; ppid: number; comm: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat.slice(close + 2).split(' ');
    // After "(comm)": state ppid ... utime is field 14 overall, i.e. index 11 here.
    return { cpuMs: (Number(f[11]) + Number(f[12])) * TICK_MS, ppid: Number(f[1]), comm };
  } catch {
    return null;
  }
}

/**
 * SIGKILL a container's init (PID 1 of its pid namespace: the kernel then kills every task in it)
 * from the host, in one syscall, with no engine round trip. A zone crash kills its containers at
 * one instant, as the process runtime does: through the engine, under load, the kills landed
 * 100s of ms apart, and a request retried from one dying container to the next lost every try
 * (docs/architecture.md, "Zone failures"). The pid is killed only while the container's own
 * cgroup (its path names the container id) still lists it: no reused pid, and no process of
 * another pid namespace (zerodrop itself in a container, the engine's pids not ours) can be hit.
 * False when it cannot be done here (not root, cgroup not readable, gone): the caller then asks
 * the engine.
 */
export function killInitFromHost(cg: ContainerCgroup, initPid: number, containerId: string): boolean {
  if (containerId.length < 12 || !cg.cpuDir.includes(containerId)) return false;
  let procs: string;
  try {
    procs = readFileSync(`${cg.cpuDir}/cgroup.procs`, 'utf8');
  } catch {
    return false;
  }
  if (!procs.split('\n').includes(String(initPid))) return false;
  try {
    process.kill(initPid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

/** The containerd-shim that parents a container's init pid, or null (another engine layout). */
export function shimPidOf(initPid: number): number | null {
  const init = procCpu(initPid);
  if (!init) return null;
  const parent = procCpu(init.ppid);
  return parent && parent.comm.startsWith('containerd-shim') ? init.ppid : null;
}

/** cgroup v1 cpu.shares → cgroup v2 cpu.weight (the mapping runc uses). */
export function sharesToWeight(shares: number): number {
  return Math.round(1 + ((Math.max(2, Math.min(262_144, shares)) - 2) * 9999) / 262_142);
}

/** Writes the CPU weight (given as v1 shares); false when the file is not writable. */
export function setCgroupShares(cg: ContainerCgroup, shares: number): boolean {
  try {
    if (cg.version === 1) writeFileSync(`${cg.cpuDir}/cpu.shares`, String(shares));
    else writeFileSync(`${cg.cpuDir}/cpu.weight`, String(sharesToWeight(shares)));
    return true;
  } catch {
    return false;
  }
}
