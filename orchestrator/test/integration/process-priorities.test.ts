/**
 * CPU priorities in the process runtime (runtime/priorities.ts): a booting replica runs at the
 * booting nice value until it is marked Ready, then at the serving one, on every thread; read
 * back from /proc/PID/stat field 19 of real sample-app processes. No timing involved. With
 * sched_autogroup on, each replica is a session of its own, so the rank that counts is its
 * autogroup's nice (/proc/PID/autogroup): set relative to the harness's, whose session is left alone.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import os from 'node:os';
import { afterEach, expect, it } from 'vitest';
import { sampleAppEntry } from '../../../harness/src/paths.js';
import { applyHarnessPriority, autogroupNiceOf, autogroupOf, niceOf, replicaAutogroupNice, restoreHarnessPriority } from '../../src/runtime/priorities.js';
import { ProcessRuntime } from '../../src/runtime/process.js';
import type { ReplicaLaunch } from '../../src/runtime/types.js';
import { DEFAULT_RESOURCES } from '../../src/spec.js';
import { template } from '../unit/support/fixtures.js';

const runtimes: ProcessRuntime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.destroy()));
});

function launch(replicaId: string): ReplicaLaunch {
  const t = template('v1');
  return {
    runId: 'prio-test',
    replicaId,
    deployment: 'web',
    zone: 'a',
    revision: 1,
    template: { ...t, command: [process.execPath, sampleAppEntry(), '--port', '0', '--replica', replicaId], port: { mode: 'announce' } },
    resources: DEFAULT_RESOURCES,
  };
}

/** Nice values of every thread of a process. */
function threadNices(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => niceOf(Number(tid)));
}

// Lowering a nice value (serving 0 after booting 10) needs CAP_SYS_NICE: root, as on CI.
const permitted = typeof process.getuid === 'function' && process.getuid() === 0;

it.skipIf(!permitted)('a booting replica runs at the booting nice value, a Ready one at the serving value, every thread', async () => {
  const base = os.getPriority();
  const runtime = new ProcessRuntime({ priorities: { booting: 10, serving: base } });
  runtimes.push(runtime);
  const a = await runtime.start(launch('prio-a'));
  const b = await runtime.start(launch('prio-b'));
  await runtime.becameReady('prio-a');
  const servingNice = niceOf(a.pid!);
  const bootingNice = niceOf(b.pid!);
  expect(bootingNice).toBe(10);
  expect(servingNice).toBe(base);
  expect(bootingNice).not.toBe(servingNice);
  // Node's threads (libuv pool, V8 platform) follow: setpriority is per thread on Linux.
  expect(new Set(threadNices(a.pid!))).toEqual(new Set([base]));
  expect(new Set(threadNices(b.pid!))).toEqual(new Set([10]));
  await runtime.becameReady('prio-b');
  expect(new Set(threadNices(b.pid!))).toEqual(new Set([base]));
});

it('without priorities a replica keeps the nice value it inherited', async () => {
  const runtime = new ProcessRuntime();
  runtimes.push(runtime);
  const a = await runtime.start(launch('prio-none'));
  await runtime.becameReady('prio-none');
  expect(niceOf(a.pid!)).toBe(os.getPriority());
});

const autogroups = autogroupOf(process.pid) !== null;

it.skipIf(!permitted || !autogroups)(
  "each replica leads an autogroup ranked below the harness's session by its phase; that session's autogroup is never written",
  async () => {
    // Shared with every test worker and the shell that started them: a run must not change it.
    const session = autogroupNiceOf(process.pid);
    const before = os.getPriority();
    applyHarnessPriority({ harness: -5, booting: 10, serving: 0 });
    try {
      expect(niceOf(process.pid)).toBe(-5);
      const runtime = new ProcessRuntime({ priorities: { booting: 10, serving: 0, harness: -5 } });
      runtimes.push(runtime);
      const a = await runtime.start(launch('prio-ag'));
      expect(autogroupOf(a.pid!)).not.toBe(autogroupOf(process.pid)); // detached: a session of its own
      expect(autogroupNiceOf(a.pid!)).toBe(Math.min(19, session + 15)); // booting 10 - harness -5
      await runtime.becameReady('prio-ag');
      expect(autogroupNiceOf(a.pid!)).toBe(session + 5); // serving 0 - harness -5
      expect(autogroupNiceOf(process.pid)).toBe(session);
    } finally {
      restoreHarnessPriority();
    }
    expect(niceOf(process.pid)).toBe(before);
    expect(new Set(threadNices(process.pid))).toEqual(new Set([before]));
  },
);

it("a replica's autogroup nice is its phase's minus the harness's, clamped to the kernel's range", () => {
  const session = autogroupNiceOf(process.pid);
  expect(replicaAutogroupNice({ booting: 10, serving: 0, harness: -5 }, 'serving')).toBe(Math.min(19, Math.max(-20, session + 5)));
  expect(replicaAutogroupNice({ booting: 10, serving: 0 }, 'booting')).toBe(Math.min(19, Math.max(-20, session + 10)));
  expect(replicaAutogroupNice({ booting: 19, serving: 0, harness: -20 }, 'booting')).toBe(19);
});

it.skipIf(!permitted || !autogroups)("a harness that leads its own session (the CLI's child) sets that autogroup; its caller's stays as it was", async () => {
  const session = autogroupNiceOf(process.pid);
  const module = new URL('../../../dist/orchestrator/src/runtime/priorities.js', import.meta.url).href;
  const sessionModule = new URL('../../../dist/common/src/session.js', import.meta.url).href;
  const script = `const p = await import(${JSON.stringify(module)}); const s = await import(${JSON.stringify(sessionModule)});
    const r = p.applyHarnessPriority({ harness: -5, booting: 10, serving: 0 });
    console.log(JSON.stringify({ leader: s.leadsOwnSession(), applied: r.applied !== null, nice: p.autogroupNiceOf(process.pid) }));`;
  // Detached: the child leads a new session, as own-session.ts spawns the CLI's harness.
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  expect(code, stderr).toBe(0);
  expect(JSON.parse(stdout)).toEqual({ leader: true, applied: true, nice: -5 });
  expect(autogroupNiceOf(process.pid)).toBe(session);
});
