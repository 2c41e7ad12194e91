/**
 * What the machine was doing during the load, every SAMPLE_MS: how busy its CPUs were and how
 * much time the hypervisor stole (/proc/stat), the CPU of the harness process (driver, Node proxy
 * and orchestrator threads), of the data plane when it is a process of its own (HAProxy), of the
 * ready replicas and of the replicas still booting (/proc/<pid>/stat), and the worst event-loop
 * delay of the driver and proxy threads. The verifier holds a per-try timeout or a schedule lag
 * that coincides with a starved instrument against the machine, not the service
 * (harness/src/verify/checks/machine.ts). Linux only: elsewhere there are no samples.
 */
import { readFileSync } from 'node:fs';
import { PROC_TICKS_PER_S as TICKS_PER_S } from '../../../common/src/thread-cpu.js';
import { monotonicMs } from '../../../orchestrator/index.js';

export const SAMPLE_MS = 200;

export interface MachineSample {
  /** Monotonic ms at the end of the interval the sample covers. */
  t: number;
  /** Fraction of all CPUs busy (not idle, not iowait) over the interval. */
  busy: number;
  /** Fraction of all CPUs' time stolen by the hypervisor. */
  steal: number;
  /** CPU used, in cores (1 = one core all the interval): the whole harness process… */
  harnessCores: number;
  /** …of which the driver thread and the Node proxy thread (null: unknown, or HAProxy). */
  driverCores: number | null;
  proxyCores: number | null;
  dataPlaneCores: number | null;
  replicaCores: number | null;
  bootingCores: number | null;
  driverLoopDelayMs: number | null;
  proxyLoopDelayMs: number | null;
}

export interface MachineSamples {
  sampleMs: number;
  cpus: number;
  samples: MachineSample[];
}

export interface MachineSources {
  /** Replica processes (process runtime) and whether each is still booting (never Ready). */
  replicaPids(): Array<{ pid: number; booting: boolean }>;
  /** The data plane's own process, when it is not a thread of the harness (HAProxy). */
  dataPlanePid(): number | null;
  /** The proxy thread's worst event-loop delay since the previous call, and its CPU ticks so far (Node proxy). */
  proxyLoad: (() => Promise<{ loopDelayMaxMs: number; cpuTicks: number | null }>) | null;
  /** The driver thread's worst event-loop delay since the previous call (null if unknown), and its CPU ticks so far at monotonic time t. */
  takeDriverLoad(): { loopDelayMaxMs: number | null; cpu: { ticks: number; t: number } | null };
}

interface CpuTotals {
  total: number;
  idle: number;
  steal: number;
  cpus: number;
}

function readCpuTotals(): CpuTotals | null {
  try {
    const text = readFileSync('/proc/stat', 'latin1');
    const line = text.slice(0, text.indexOf('\n'));
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
    const cpus = (text.match(/^cpu\d+ /gm) ?? []).length || 1;
    return { total: user + nice + system + idle + iowait + irq + softirq + steal, idle: idle + iowait, steal, cpus };
  } catch {
    return null;
  }
}

/** utime + stime of a process, in ticks; null when it is gone. */
function processTicks(pid: number | 'self'): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return null;
  }
}

export class MachineSampler {
  private readonly samples: MachineSample[] = [];
  private timer: NodeJS.Timeout | null = null;
  private lastCpu: CpuTotals | null = null;
  private lastT = 0;
  private readonly lastTicks = new Map<number | 'self', number>();
  private started = false;
  private proxyDelay: number | null = null;
  private proxyAsking = false;
  /** Latest and previous cumulative CPU readings of the driver and proxy threads. */
  private readonly threadCpu = { driver: new ThreadCpu(), proxy: new ThreadCpu() };

  constructor(private readonly sources: MachineSources) {}

  start(): void {
    this.lastCpu = readCpuTotals();
    this.lastT = monotonicMs();
    // What runs already is counted from now on; a replica first seen later is new, and counted from its spawn.
    this.cores('self', 0);
    const dataPlane = this.sources.dataPlanePid();
    if (dataPlane !== null) this.cores(dataPlane, 0);
    for (const r of this.sources.replicaPids()) this.cores(r.pid, 0);
    this.started = true;
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  stop(): MachineSamples {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return { sampleMs: SAMPLE_MS, cpus: this.lastCpu?.cpus ?? 0, samples: this.samples.slice() };
  }

  /**
   * Cores used by pid since its previous reading. A process first seen after start() was spawned
   * during the load: all its CPU so far counts (a replica's boot happens before the next sample).
   */
  private cores(pid: number | 'self', dtMs: number): number | null {
    const ticks = processTicks(pid);
    if (ticks === null) {
      this.lastTicks.delete(pid);
      return null;
    }
    const prev = this.lastTicks.get(pid) ?? (this.started ? 0 : undefined);
    this.lastTicks.set(pid, ticks);
    if (prev === undefined || dtMs <= 0) return 0;
    return (ticks - prev) / TICKS_PER_S / (dtMs / 1000);
  }

  private sample(): void {
    const now = monotonicMs();
    const dt = now - this.lastT;
    this.lastT = now;
    const cpu = readCpuTotals();
    const prev = this.lastCpu;
    this.lastCpu = cpu;
    if (cpu === null || prev === null) return;
    const dTotal = Math.max(1, cpu.total - prev.total);
    const sum = (list: Array<{ pid: number }>): number | null => (list.length === 0 ? 0 : list.reduce((n, r) => n + (this.cores(r.pid, dt) ?? 0), 0));
    const replicas = this.sources.replicaPids();
    const dataPlane = this.sources.dataPlanePid();
    const ask = this.sources.proxyLoad;
    if (ask !== null && !this.proxyAsking) {
      // Answered on the proxy's own loop: a starved proxy answers late, and lands in a later sample.
      this.proxyAsking = true;
      ask()
        .then((load) => {
          this.proxyDelay = Math.max(this.proxyDelay ?? 0, load.loopDelayMaxMs);
          if (load.cpuTicks !== null) this.threadCpu.proxy.read(load.cpuTicks, monotonicMs());
        })
        .catch(() => undefined)
        .finally(() => (this.proxyAsking = false));
    }
    const proxyDelay = ask === null ? null : (this.proxyDelay ?? 0);
    this.proxyDelay = null;
    const driver = this.sources.takeDriverLoad();
    if (driver.cpu !== null) this.threadCpu.driver.read(driver.cpu.ticks, driver.cpu.t);
    this.samples.push({
      t: now,
      busy: Math.max(0, Math.min(1, 1 - (cpu.idle - prev.idle) / dTotal)),
      steal: Math.max(0, Math.min(1, (cpu.steal - prev.steal) / dTotal)),
      harnessCores: this.cores('self', dt) ?? 0,
      driverCores: this.threadCpu.driver.take(),
      proxyCores: ask === null ? null : this.threadCpu.proxy.take(),
      dataPlaneCores: dataPlane === null ? null : this.cores(dataPlane, dt),
      // A replica seen for the first time spent its CPU so far booting, Ready or not by now.
      replicaCores: replicas.length === 0 ? null : sum(replicas.filter((r) => !r.booting && this.lastTicks.has(r.pid))),
      bootingCores: replicas.length === 0 ? null : sum(replicas.filter((r) => r.booting || !this.lastTicks.has(r.pid))),
      driverLoopDelayMs: driver.loopDelayMaxMs,
      proxyLoopDelayMs: proxyDelay,
    });
  }
}

/** A thread's cores over the span between its last two CPU readings (null until there are two). */
class ThreadCpu {
  private prev: { ticks: number; t: number } | null = null;
  private last: { ticks: number; t: number } | null = null;
  private cores: number | null = null;

  read(ticks: number, t: number): void {
    this.prev = this.last;
    this.last = { ticks, t };
    if (this.prev !== null && t > this.prev.t) this.cores = (ticks - this.prev.ticks) / TICKS_PER_S / ((t - this.prev.t) / 1000);
  }

  /** The latest figure (repeated until a new reading arrives: readings come every 200–250 ms). */
  take(): number | null {
    return this.cores;
  }
}
