/**
 * `zerodrop up` leaves a cluster running for any load tool; `zerodrop ctl` drives it from another
 * terminal through the loopback admin API. Ctrl-C drains and stops everything.
 */
import { spawn, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processesOfRun } from '../helpers/scenario-run.js';

const ROOT = join(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/zerodrop.js');

function ctl(admin: string, ...args: string[]): { status: number | null; json: unknown; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'ctl', ...args, '--admin', admin], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  let json: unknown = null;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = r.stdout;
  }
  return { status: r.status, json, stderr: r.stderr };
}

function get(url: string): Promise<{ status: number; servedBy: string | undefined; version: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          servedBy: res.headers['x-served-by'] as string | undefined,
          version: res.headers['x-version'] as string | undefined,
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

function rawStatus(port: number, method: string, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

async function until<T>(what: string, fn: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await fn();
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 200));
    last = await fn();
  }
  return last;
}

interface Status {
  version: string;
  status: { availableReplicas: number; updatedReplicas: number };
  zones: { name: string; up: boolean; ready: number }[];
  rolloutInProgress: boolean;
}

describe('zerodrop up + zerodrop ctl', () => {
  it('serves on the printed URL, rolls out and fails/recovers a zone on command, and stops cleanly on SIGINT', async () => {
    const child = spawn(process.execPath, [BIN, 'up', 'scenarios/rollout.yaml'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stderr.on('data', (c: Buffer) => (text += c.toString('utf8')));
    try {
      const found = await until(
        'the printed URLs',
        () => text,
        (t) => /admin\s+http:\/\/127\.0\.0\.1:\d+/.test(t) && /service\s+http:\/\/127\.0\.0\.1:\d+/.test(t),
        30_000,
      );
      const service = /service\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(found)![1]!;
      const admin = /admin\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(found)![1]!;

      const first = await get(`${service}/`);
      expect(first.status).toBe(200);
      expect(first.version).toBe('v1');

      // A web page the operator has open cannot drive it: cross-site POSTs and rebound hosts get 403.
      const port = Number(new URL(admin).port);
      expect(await rawStatus(port, 'POST', '/zones/a/fail', { host: `127.0.0.1:${port}`, origin: 'https://evil.example', 'content-type': 'text/plain' })).toBe(
        403,
      );
      expect(await rawStatus(port, 'GET', '/status', { host: `rebound.example:${port}` })).toBe(403);
      expect(await rawStatus(port, 'GET', '/status', { host: `127.0.0.1:${port}` })).toBe(200);

      const s0 = ctl(admin, 'status');
      expect(s0.status).toBe(0);
      expect((s0.json as Status).status.availableReplicas).toBe(6);

      expect(ctl(admin, 'rollout', 'v2').status).toBe(0);
      await until(
        'rollout v2',
        () => ctl(admin, 'status').json as Status,
        (s) => s.version === 'v2' && !s.rolloutInProgress && s.status.updatedReplicas === 6,
      );
      expect((await get(`${service}/`)).version).toBe('v2');

      expect(ctl(admin, 'fail-zone', 'b').status).toBe(0);
      // Until the control plane notices (zoneFailureDetection), the dead replicas still look
      // Ready, as pods on a dead node do in Kubernetes: wait for the rescheduled state itself.
      const zoneB = (s: Status) => s.zones.find((z) => z.name === 'b');
      const down = await until(
        'zone b rescheduled',
        () => ctl(admin, 'status').json as Status,
        (s) => !zoneB(s)?.up && zoneB(s)?.ready === 0 && s.status.availableReplicas === 6,
      );
      expect(
        down.zones.filter((z) => z.name !== 'b').reduce((n, z) => n + z.ready, 0),
        'all 6 on the surviving zones',
      ).toBe(6);
      expect(ctl(admin, 'recover-zone', 'b').status).toBe(0);
      await until(
        'zone b up',
        () => ctl(admin, 'status').json as Status,
        (s) => s.zones.every((z) => z.up),
      );

      // The event stream: history first (one JSON event per line), then live.
      const events = spawn(process.execPath, [BIN, 'ctl', 'events', '--admin', admin], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let streamed = '';
      events.stdout.on('data', (c: Buffer) => (streamed += c.toString('utf8')));
      try {
        await until(
          'the event history',
          () => streamed,
          (t) => /"type":"zone\.up"/.test(t),
          10_000,
        );
        const types = streamed
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { type: string }).type);
        expect(types).toEqual(expect.arrayContaining(['rollout.started', 'rollout.completed', 'zone.down', 'zone.up']));
      } finally {
        events.kill('SIGTERM');
      }

      // Bad input: a clear error, exit 2.
      const bad = ctl(admin, 'fail-zone', 'nope');
      expect(bad.status).toBe(2);
      expect(JSON.stringify(bad.json)).toContain('no zone');
    } finally {
      child.kill('SIGINT');
    }
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(0);
    const runId = /run (\S+-up-\S+)/.exec(text)?.[1];
    expect(runId, `the run id is printed; stderr was:\n${text}`).toBeDefined();
    expect(processesOfRun(runId!)).toEqual([]);
  });

  it('ctl refuses a non-loopback admin URL', () => {
    const r = spawnSync(process.execPath, [BIN, 'ctl', 'status', '--admin', 'http://10.0.0.1:7070'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('loopback');
  });
});
