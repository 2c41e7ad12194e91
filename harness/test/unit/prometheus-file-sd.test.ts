import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReplicaRecord } from '../../../orchestrator/src/controller.js';
import { ReplicaFileSd, isLoopbackHost, targetAddress, writeTargetGroups, type ReplicaSource, type TargetGroup } from '../../../orchestrator/src/file-sd.js';
import type { TimelineEvent } from '../../../orchestrator/src/timeline.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'zd-filesd-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

class FakeController extends EventEmitter implements ReplicaSource {
  readonly records = new Map<string, ReplicaRecord>();
  readonly timeline: TimelineEvent[] = [];
  get allReplicas(): readonly ReplicaRecord[] {
    return [...this.records.values()];
  }
  add(id: string, zone: string, version: string, port: number, admin: number | null, host = '127.0.0.1'): ReplicaRecord {
    const r = {
      id,
      zone,
      version,
      revision: 1,
      started: {
        replicaId: id,
        endpoint: { host, port },
        adminEndpoint: admin === null ? null : { host, port: admin },
        pid: 1,
        containerId: null,
        startedAtMs: 0,
      },
      exit: null,
      final: null,
      lastScrape: null,
      zoneFailedUnnoticed: false,
    } as unknown as ReplicaRecord;
    this.records.set(id, r);
    this.emitEvent({ t: 0, type: 'replica.started', replica: id, zone, version, revision: 1, endpoint: `${host}:${port}` });
    return r;
  }
  emitEvent(e: TimelineEvent): void {
    this.timeline.push(e);
    this.emit('event', e);
  }
  ref(id: string): { replica: string; zone: string; version: string; revision: number } {
    const r = this.records.get(id)!;
    return { replica: id, zone: r.zone, version: r.version, revision: 1 };
  }
}

function read(file: string): TargetGroup[] {
  return JSON.parse(readFileSync(file, 'utf8')) as TargetGroup[];
}

describe('writeTargetGroups', () => {
  it('writes the file_sd JSON format through a temp file and a rename (no temp file left)', () => {
    const dir = tmp();
    const file = join(dir, 'sub', 'run.replicas.json');
    writeTargetGroups(file, [{ targets: ['127.0.0.1:1'], labels: { replica: 'r1' } }]);
    expect(read(file)).toEqual([{ targets: ['127.0.0.1:1'], labels: { replica: 'r1' } }]);
    writeTargetGroups(file, []);
    expect(read(file)).toEqual([]);
    expect(readdirSync(join(dir, 'sub'))).toEqual(['run.replicas.json']);
  });

  it('a reader never sees a partial file while it is rewritten (rename is atomic)', () => {
    const dir = tmp();
    const file = join(dir, 'x.json');
    const big = Array.from({ length: 2000 }, (_, i) => ({ targets: [`127.0.0.1:${1000 + i}`], labels: { replica: `r${i}` } }));
    writeTargetGroups(file, big);
    for (let i = 0; i < 50; i++) {
      writeTargetGroups(file, i % 2 ? big : big.slice(0, 10));
      const parsed = read(file); // throws on a torn read
      expect([10, 2000]).toContain(parsed.length);
    }
  });
});

describe('loopback and addresses', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['[::1]', true],
    ['localhost', true],
    ['10.0.0.1', false],
    ['0.0.0.0', false],
    ['127.0.0.256', false],
    ['example.com', false],
  ])('%s loopback = %s', (host, want) => expect(isLoopbackHost(host)).toBe(want));

  it('brackets IPv6 hosts', () => {
    expect(targetAddress({ host: '::1', port: 9 })).toBe('[::1]:9');
    expect(targetAddress({ host: '127.0.0.1', port: 9 })).toBe('127.0.0.1:9');
  });
});

describe('ReplicaFileSd', () => {
  it('adds started replicas with replica/zone/version/run_id labels, on their admin port when they have one', () => {
    const c = new FakeController();
    const file = join(tmp(), 'run.replicas.json');
    c.add('web-v1-a-1', 'a', 'v1', 4001, 5001);
    const sd = new ReplicaFileSd(c, { file, runId: 'run-1', metricsPath: '/metrics' }).start();
    expect(read(file)).toEqual([{ targets: ['127.0.0.1:5001'], labels: { replica: 'web-v1-a-1', zone: 'a', version: 'v1', run_id: 'run-1' } }]);
    c.add('web-v1-b-2', 'b', 'v1', 4002, null);
    expect(read(file).map((g) => g.targets[0])).toEqual(['127.0.0.1:5001', '127.0.0.1:4002']);
    sd.close();
  });

  it('sets __metrics_path__ for a service whose metrics are not on /metrics, and writes nothing when it has none', () => {
    const c = new FakeController();
    c.add('r1', 'a', 'v1', 4001, null);
    const f1 = join(tmp(), 'a.json');
    new ReplicaFileSd(c, { file: f1, runId: 'x', metricsPath: '/prom' }).start().close();
    expect(read(f1)[0]?.labels['__metrics_path__']).toBe('/prom');
    const f2 = join(tmp(), 'b.json');
    new ReplicaFileSd(c, { file: f2, runId: 'x', metricsPath: null }).start().close();
    expect(read(f2)).toEqual([]);
  });

  it('keeps a drained replica until its final read, even when it exited first', () => {
    const c = new FakeController();
    const file = join(tmp(), 'run.replicas.json');
    const r = c.add('r1', 'a', 'v1', 4001, 5001);
    const sd = new ReplicaFileSd(c, { file, runId: 'x', metricsPath: '/metrics' }).start();
    c.emitEvent({ t: 1, type: 'replica.draining', ...c.ref('r1'), reason: 'rollout' });
    expect(read(file)).toHaveLength(1);
    r.exit = { replicaId: 'r1', kind: 'graceful', code: 0, signal: null, atMs: 2 };
    c.emitEvent({ t: 2, type: 'replica.terminated', ...c.ref('r1'), exit: 'graceful', code: 0, signal: null });
    expect(read(file)).toHaveLength(1); // the final read has not happened yet
    c.emitEvent({ t: 3, type: 'replica.final-counts', ...c.ref('r1'), ok: true, responses: 10 });
    expect(read(file)).toEqual([]);
    sd.close();
  });

  it('removes a drained replica at its final read while it still runs', () => {
    const c = new FakeController();
    const file = join(tmp(), 'f.json');
    c.add('r1', 'a', 'v1', 4001, 5001);
    const sd = new ReplicaFileSd(c, { file, runId: 'x', metricsPath: '/metrics' }).start();
    c.emitEvent({ t: 1, type: 'replica.draining', ...c.ref('r1'), reason: 'rollout' });
    c.emitEvent({ t: 2, type: 'replica.final-counts', ...c.ref('r1'), ok: true, responses: 10 });
    expect(read(file)).toEqual([]);
    sd.close();
  });

  it('removes a killed replica (no final read will come) when it exits, and one that died with its zone on the next event', () => {
    const c = new FakeController();
    const file = join(tmp(), 'f.json');
    const r1 = c.add('r1', 'a', 'v1', 4001, 5001);
    const r2 = c.add('r2', 'b', 'v1', 4002, 5002);
    const sd = new ReplicaFileSd(c, { file, runId: 'x', metricsPath: '/metrics' }).start();
    r1.exit = { replicaId: 'r1', kind: 'killed', code: null, signal: 'SIGKILL', atMs: 2 };
    c.emitEvent({ t: 2, type: 'replica.terminated', ...c.ref('r1'), exit: 'killed', code: null, signal: 'SIGKILL' });
    expect(read(file).map((g) => g.labels['replica'])).toEqual(['r2']);
    r2.exit = { replicaId: 'r2', kind: 'killed', code: null, signal: 'SIGKILL', atMs: 3 }; // zone crash: no event of its own
    c.emitEvent({ t: 3, type: 'zone.down', zone: 'b', mode: 'crash', replicas: ['r2'] });
    expect(read(file)).toEqual([]);
    sd.close();
  });

  it('drops a drained replica whose final read never comes after the timeout', async () => {
    const c = new FakeController();
    const file = join(tmp(), 'f.json');
    const r = c.add('r1', 'a', 'v1', 4001, 5001);
    const sd = new ReplicaFileSd(c, { file, runId: 'x', metricsPath: '/metrics', finalReadTimeoutMs: 50 }).start();
    c.emitEvent({ t: 1, type: 'replica.draining', ...c.ref('r1'), reason: 'rollout' });
    r.exit = { replicaId: 'r1', kind: 'graceful', code: 0, signal: null, atMs: 2 };
    c.emitEvent({ t: 2, type: 'replica.terminated', ...c.ref('r1'), exit: 'graceful', code: 0, signal: null });
    expect(read(file)).toHaveLength(1);
    await new Promise((res) => setTimeout(res, 150));
    expect(read(file)).toEqual([]);
    sd.close();
  });

  it('never hands a non-loopback target to Prometheus', () => {
    const c = new FakeController();
    const lines: string[] = [];
    c.add('r1', 'a', 'v1', 4001, null, '10.1.2.3');
    const file = join(tmp(), 'f.json');
    new ReplicaFileSd(c, { file, runId: 'x', metricsPath: '/metrics', log: (l) => lines.push(l) }).start().close();
    expect(read(file)).toEqual([]);
    expect(lines.join('\n')).toContain('neither loopback nor a container of this run');
  });

  it('hands over a container\'s own bridge address (docker endpoint mode "container"), which this run created', () => {
    const c = new FakeController();
    const r = c.add('r1', 'a', 'v1', 9091, null, '172.17.0.5');
    (r.started as { containerId: string | null }).containerId = 'abc123';
    const file = join(tmp(), 'f.json');
    new ReplicaFileSd(c, { file, runId: 'x', metricsPath: '/metrics', log: () => undefined }).start().close();
    expect(read(file)).toEqual([expect.objectContaining({ targets: ['172.17.0.5:9091'] })]);
  });

  it('writes only when the set changes; close({remove}) deletes the file; no listener is left', () => {
    const c = new FakeController();
    const file = join(tmp(), 'f.json');
    c.add('r1', 'a', 'v1', 4001, null);
    const sd = new ReplicaFileSd(c, { file, runId: 'x', metricsPath: '/metrics' }).start();
    const writes = sd.writes;
    c.emitEvent({ t: 1, type: 'replica.ready', ...c.ref('r1') });
    expect(sd.writes).toBe(writes);
    sd.close({ remove: true });
    expect(existsSync(file)).toBe(false);
    expect(c.listenerCount('event')).toBe(0);
  });
});
