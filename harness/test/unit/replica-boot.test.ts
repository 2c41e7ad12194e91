/**
 * A replica's boot in result.json (ms from the runtime's start call, CPU at Ready) and the
 * report's Boot column, shown only when a runtime reported boots (the process runtime's tables
 * stay as they were).
 */
import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../../src/report/markdown.js';
import { replicaRows } from '../../src/verify/replicas.js';
import type { ReplicaSnapshot } from '../../src/verify/snapshot.js';
import { passingRun } from '../fixtures/result.js';

const snapshot = (boot: boolean): ReplicaSnapshot => ({
  id: 'web-v1-a-1',
  seq: 1,
  revision: 1,
  version: 'v1',
  zone: 'a',
  phase: 'running',
  ready: true,
  readySinceMs: 2100,
  createdAtMs: 1000,
  restarts: 0,
  started: {
    replicaId: 'web-v1-a-1',
    endpoint: { host: '172.17.0.2', port: 8080 },
    adminEndpoint: null,
    pid: null,
    containerId: 'c'.repeat(64),
    startedAtMs: 1040,
    ...(boot ? { boot: { calledAtMs: 1000, createdAtMs: 1040, runningAtMs: 1600, listeningAtMs: 2000 } } : {}),
  },
  routed: true,
  deleteReason: null,
  firstReadyMs: 2100,
  drainingMs: null,
  unroutedMs: null,
  sigtermMs: null,
  exitedMs: null,
  exit: null,
  startError: null,
  readyCost: boot ? { cpuMs: 270, helperCpuMs: 30, priority: { booting: 512, serving: 1024, how: 'cgroup-file', ms: 0.1 } } : null,
  lastScrape: null,
  final: null,
  zoneFailedUnnoticed: false,
});

const proxy = { endpoints: [] } as unknown as Parameters<typeof replicaRows>[1];

describe('replica boot', () => {
  it('is ms from the start call to create, running, listening and Ready, with the CPU read at Ready', () => {
    const [row] = replicaRows([snapshot(true)], proxy, new Map(), 0, false, 10_000);
    expect(row?.boot).toEqual({
      createMs: 40,
      runningMs: 600,
      listeningMs: 1000,
      readyMs: 1100,
      cpuMs: 270,
      helperCpuMs: 30,
      priority: { booting: 512, serving: 1024, how: 'cgroup-file', ms: 0.1 },
    });
  });

  it('is null when the runtime reported no boot marks', () => {
    expect(replicaRows([snapshot(false)], proxy, new Map(), 0, false, 10_000)[0]?.boot).toBeNull();
  });

  it('the report has a Boot column only when some replica has a boot, and the runtime choices in its run facts', () => {
    const plain = passingRun();
    expect(renderMarkdown(plain)).not.toContain('| Boot |');
    const [first, ...rest] = plain.replicas;
    const withBoot = {
      ...plain,
      run: {
        ...plain.run,
        runtime: 'docker' as const,
        runtimeChoices: [{ what: 'endpoint', value: 'container (bridge address)', why: 'auto: the first container answered' }],
      },
      replicas: [{ ...first!, boot: { createMs: 40, runningMs: 600, listeningMs: 1000, readyMs: 1100, cpuMs: 270, helperCpuMs: 30, priority: null } }, ...rest],
    };
    const md = renderMarkdown(withBoot);
    expect(md).toMatch(/\| Boot \|/);
    expect(md).toContain('create 40 · run 600 · listen 1,000 · Ready 1,100 ms · CPU 270 ms + shim 30 ms');
    expect(md).toContain('endpoint: container (bridge address) (auto: the first container answered)');
  });
});
