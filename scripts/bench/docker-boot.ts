/**
 * (h) container boot: N sample-app containers started one after the other on the local engine
 * (the demo's template, the docker runtime as a run uses it), each timed create → running →
 * listening → Ready (/readyz 200 on its endpoint), with its CPU at Ready (its cgroup, its
 * containerd-shim) and the engine's (dockerd + containerd, Δ over the boot, nothing else starting
 * meanwhile). Then N more, each joining a pod sandbox made beforehand (as a run's replicas started
 * under load do, docker-sandbox.ts), when the runtime reaches containers on their bridge address.
 * Then the price of raising a Ready container's CPU weight: `docker update --cpu-shares` through
 * the engine API vs the cgroup file the runtime writes. Medians.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import Docker from 'dockerode';
import { monotonicMs } from '../../common/src/clock.js';
import { createRuntime, type Runtime } from '../../orchestrator/index.js';
import { CLK_TCK } from './measure.js';
import { medianOf } from './render.js';

type ReplicaLaunch = Parameters<Runtime['start']>[0];

export interface ContainerBoot {
  createMs: number | null;
  runningMs: number;
  listeningMs: number;
  readyMs: number;
  cpuMs: number | null;
  shimCpuMs: number | null;
  engineCpuMs: number | null;
  /** One engine `update --cpu-shares` call on the Ready container (ms). */
  engineUpdateMs: number;
  /** The runtime's raise at Ready (cgroup file write when it knows the path), ms. */
  raiseMs: number | null;
  raiseHow: string | null;
}

type BootMedians = { [K in keyof ContainerBoot]: K extends 'raiseHow' ? string | null : number | null };

export interface DockerBootSummary {
  /** Each with a network namespace of its own (the engine makes it during the boot). */
  boots: ContainerBoot[];
  endpoint: string;
  median: BootMedians;
  /** Each joining a pod sandbox made before it (null: the runtime made none, e.g. published ports). */
  joined: { boots: ContainerBoot[]; median: BootMedians } | null;
}

/** Pids of the engine's daemons (dockerd, containerd), by /proc/<pid>/comm. */
function enginePids(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const comm = readFileSync(`/proc/${name}/comm`, 'utf8').trim();
      if (comm === 'dockerd' || comm === 'containerd') pids.push(Number(name));
    } catch {
      // gone
    }
  }
  return pids;
}

/** utime + stime + cutime + cstime: the children it waited for count (dockerd runs iptables per published port). */
function engineCpuMs(pids: number[]): number | null {
  if (pids.length === 0) return null;
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1000) / CLK_TCK;
    } catch {
      // gone
    }
  }
  return total;
}

function status(host: string, port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, timeout: 500 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function untilReady(host: string, port: number, deadlineMs: number): Promise<void> {
  const end = performance.now() + deadlineMs;
  while (performance.now() < end) {
    if ((await status(host, port, '/readyz')) === 200) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${host}:${port} not Ready within ${deadlineMs} ms`);
}

export async function measureDockerBoots(launchOf: (i: number) => ReplicaLaunch, n: number, log: (l: string) => void): Promise<DockerBootSummary> {
  const runId = launchOf(0).runId;
  const runtime: Runtime = createRuntime('docker', { runId, log });
  const docker = new Docker();
  const boots: ContainerBoot[] = [];
  const joined: ContainerBoot[] = [];
  const engine = enginePids();
  const bootOne = async (launch: ReplicaLaunch): Promise<ContainerBoot> => {
    const engine0 = engineCpuMs(engine);
    const started = await runtime.start(launch);
    await untilReady(started.endpoint.host, started.endpoint.port, 30_000);
    const readyAt = monotonicMs(); // the runtime's marks are on this clock
    const cost = (await runtime.becameReady?.(launch.replicaId)) ?? null;
    const engine1 = engineCpuMs(engine);
    const marks = started.boot;
    if (!marks) throw new Error('the docker runtime reported no boot marks');
    const t0 = performance.now();
    await docker.getContainer(started.containerId as string).update({ CpuShares: 1024 });
    const engineUpdateMs = performance.now() - t0;
    return {
      createMs: marks.createdAtMs === null ? null : marks.createdAtMs - marks.calledAtMs,
      runningMs: marks.runningAtMs - marks.calledAtMs,
      listeningMs: marks.listeningAtMs - marks.calledAtMs,
      readyMs: readyAt - marks.calledAtMs,
      cpuMs: cost?.cpuMs ?? null,
      shimCpuMs: cost?.helperCpuMs ?? null,
      engineCpuMs: engine0 === null || engine1 === null ? null : engine1 - engine0,
      engineUpdateMs,
      raiseMs: cost?.priority?.ms ?? null,
      raiseHow: cost?.priority?.how ?? null,
    };
  };
  let sandboxes = 0;
  try {
    await runtime.prepare(runId);
    for (let i = 0; i < n; i++) boots.push(await bootOne(launchOf(i)));
    if (runtime.prewarm) {
      sandboxes = await runtime.prewarm(n);
      if (sandboxes > 0) for (let i = n; i < 2 * n; i++) joined.push(await bootOne(launchOf(i)));
    }
  } finally {
    await runtime.close(2000);
  }
  const endpoint = runtime.choices?.().find((c) => c.what === 'endpoint')?.value ?? 'unknown';
  return { boots, endpoint, median: mediansOf(boots), joined: sandboxes > 0 ? { boots: joined, median: mediansOf(joined) } : null };
}

function mediansOf(boots: ContainerBoot[]): BootMedians {
  const pick = (k: Exclude<keyof ContainerBoot, 'raiseHow'>): number | null => medianOf(boots.map((b) => b[k]));
  return {
    createMs: pick('createMs'),
    runningMs: pick('runningMs'),
    listeningMs: pick('listeningMs'),
    readyMs: pick('readyMs'),
    cpuMs: pick('cpuMs'),
    shimCpuMs: pick('shimCpuMs'),
    engineCpuMs: pick('engineCpuMs'),
    engineUpdateMs: pick('engineUpdateMs'),
    raiseMs: pick('raiseMs'),
    raiseHow: boots[0]?.raiseHow ?? null,
  };
}

/** The (h) block of the printed report. */
export function bootLines(s: DockerBootSummary | null, skipped: string | null, n: number): string[] {
  const title = `(h) container boot (${n} sample-app containers, one by one; ms from the runtime's start call; medians):`;
  if (s === null) return [title, `  ${skipped ?? 'not measured'}`];
  const ms = (x: number | null): string => (x === null ? '—' : x.toFixed(0));
  const series = (label: string, boots: ContainerBoot[], m: BootMedians): string[] => [
    `  ${label}: create ${ms(m.createMs)} → running ${ms(m.runningMs)} → listening ${ms(m.listeningMs)} → Ready ${ms(m.readyMs)} ms (each: ${boots.map((b) => ms(b.readyMs)).join(', ')})`,
    `    CPU to Ready: container ${ms(m.cpuMs)} ms (its cgroup: docker-init + node) · containerd-shim ${ms(m.shimCpuMs)} ms · engine ${ms(m.engineCpuMs)} ms (dockerd + containerd and the children they waited for, Δ over the boot)`,
  ];
  const m = s.median;
  return [
    title,
    `  endpoint ${s.endpoint}`,
    ...series('own network namespace', s.boots, m),
    ...(s.joined
      ? series(`joining a pod sandbox made before (${n} more)`, s.joined.boots, s.joined.median)
      : ['  joining a pod sandbox: not measured (the runtime made none on this endpoint)']),
    `  raising a Ready container's CPU weight: ${m.raiseHow ?? '—'} ${m.raiseMs === null ? '—' : m.raiseMs.toFixed(2)} ms · the engine's update --cpu-shares ${ms(m.engineUpdateMs)} ms`,
  ];
}
