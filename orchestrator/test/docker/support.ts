/**
 * Shared by the docker test files: is there an engine (else the tests skip, saying why), launch
 * specs for the sample-app image, and small HTTP helpers. Loopback only.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { connectEngine } from '../../src/runtime/docker-engine.js';
import { SAMPLE_APP_ADMIN_CONTAINER_PORT, SAMPLE_APP_CONTAINER_PORT, SAMPLE_APP_IMAGE } from '../../src/runtime/docker-image.js';
import { LABELS } from '../../src/runtime/docker-reaper.js';
import { DEFAULT_READINESS, type PodTemplate } from '../../src/spec.js';
import type { HostPort, ReplicaLaunch } from '../../src/runtime/types.js';

export interface EngineProbe {
  ok: boolean;
  reason: string;
}

/** Checks (once per file) that an engine answers; the tests skip with this reason when not. */
export async function probeEngine(): Promise<EngineProbe> {
  try {
    const info = await connectEngine(new Docker(), 3000);
    return { ok: true, reason: `Docker ${info.serverVersion} (API ${info.apiVersion}, cgroup v${info.cgroupVersion}, ${info.storageDriver})` };
  } catch (err) {
    const reason = `no Docker engine reachable (${err instanceof Error ? err.message : String(err)}) — docker tests skipped; .ci/install-docker.sh installs and starts one`;
    console.warn(`[zerodrop docker tests] ${reason}`);
    return { ok: false, reason };
  }
}

export function testRunId(what: string): string {
  return `zdtest-${what}-${randomBytes(3).toString('hex')}`;
}

export function sampleAppArgs(extra: string[] = []): string[] {
  return [
    '--host',
    '0.0.0.0',
    '--port',
    String(SAMPLE_APP_CONTAINER_PORT),
    '--admin-port',
    String(SAMPLE_APP_ADMIN_CONTAINER_PORT),
    '--drain-delay-ms',
    '200',
    '--drain-timeout-ms',
    '3000',
    ...extra,
  ];
}

export function sampleAppTemplate(version = 'v1', extraArgs: string[] = []): PodTemplate {
  return {
    version,
    command: sampleAppArgs(extraArgs),
    image: SAMPLE_APP_IMAGE,
    containerPort: SAMPLE_APP_CONTAINER_PORT,
    env: {},
    port: { mode: 'announce' },
    readiness: { ...DEFAULT_READINESS, periodMs: 200, timeoutMs: 500 },
    livenessPath: '/healthz',
    metricsPath: '/metrics',
    startTimeoutMs: 15_000,
  };
}

export function launchOf(runId: string, replicaId: string, template: PodTemplate, zone = 'a'): ReplicaLaunch {
  return { runId, replicaId, deployment: 'web', zone, revision: 1, template, resources: { memoryMiB: 128, cpus: 0.5 } };
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function httpGet(target: HostPort, path: string, headers: Record<string, string> = {}, timeoutMs = 2000): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request({ host: target.host, port: target.port, path, headers, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`GET ${path}: no response within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

/** Polls GET path until 200 (or the deadline); returns how long it took. */
export async function waitFor200(target: HostPort, path: string, deadlineMs = 15_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    try {
      if ((await httpGet(target, path, {}, 500)).status === 200) return performance.now() - t0;
    } catch {
      // not listening yet
    }
    if (performance.now() - t0 > deadlineMs) throw new Error(`${target.host}:${target.port}${path} did not answer 200 within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Does a TCP connection open (the accept queue takes it) while a request on it gets no answer? */
export function connectsButHangs(target: HostPort, waitMs: number): Promise<{ connected: boolean; answered: boolean }> {
  return new Promise((resolve) => {
    let connected = false;
    let answered = false;
    const socket = connect({ host: target.host, port: target.port });
    socket.on('connect', () => {
      connected = true;
      socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`);
    });
    socket.on('data', () => (answered = true));
    socket.on('error', () => undefined);
    setTimeout(() => {
      socket.destroy();
      resolve({ connected, answered });
    }, waitMs);
  });
}

/** Force-removes every container of these runs (afterAll, whatever happened). */
export async function removeRuns(docker: Docker, runIds: string[]): Promise<void> {
  for (const runId of runIds) {
    const list = await docker.listContainers({ all: true, filters: { label: [`${LABELS.runId}=${runId}`] } });
    await Promise.allSettled(list.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true })));
  }
}

export async function containersOfRun(docker: Docker, runId: string): Promise<string[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${LABELS.runId}=${runId}`] } });
  return list.map((c) => c.Id);
}
