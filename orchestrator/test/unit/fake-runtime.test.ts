import { describe, expect, it } from 'vitest';
import { isZerodropError } from '../../../common/src/errors.js';
import { FakeRuntime } from './support/fake-runtime.js';
import type { ReplicaExit, ReplicaLaunch } from '../../src/runtime/types.js';
import { DEFAULT_RESOURCES } from '../../src/spec.js';
import { template } from './support/fixtures.js';

function launch(replicaId: string, zone = 'a'): ReplicaLaunch {
  return { runId: 'run-1', replicaId, deployment: 'web', zone, revision: 1, template: template('v1'), resources: DEFAULT_RESOURCES };
}

describe('FakeRuntime', () => {
  it('records every mutating call, in order, and starts nothing real', async () => {
    const runtime = new FakeRuntime();
    await runtime.prepare('run-1');
    const started = await runtime.start(launch('web-v1-a-1'));
    await runtime.pause('web-v1-a-1');
    await runtime.resume('web-v1-a-1');
    await runtime.stop('web-v1-a-1', { graceMs: 500 });
    await runtime.kill('web-v1-a-1');
    runtime.inspect('web-v1-a-1');
    expect(runtime.actions()).toEqual([
      { verb: 'prepare', runId: 'run-1' },
      { verb: 'start', replicaId: 'web-v1-a-1', zone: 'a', revision: 1, version: 'v1' },
      { verb: 'pause', replicaId: 'web-v1-a-1' },
      { verb: 'resume', replicaId: 'web-v1-a-1' },
      { verb: 'stop', replicaId: 'web-v1-a-1', graceMs: 500 },
      { verb: 'kill', replicaId: 'web-v1-a-1' },
    ]);
    expect(started).toMatchObject({ pid: null, containerId: null, endpoint: { host: '127.0.0.1' } });
  });

  it.each([
    { name: 'a running replica exits gracefully', pause: false, stopExit: undefined, kind: 'graceful' },
    { name: 'a frozen replica cannot handle SIGTERM: killed', pause: true, stopExit: undefined, kind: 'killed' },
    { name: 'a replica that ignores SIGTERM: killed', pause: false, stopExit: 'killed' as const, kind: 'killed' },
  ])('stop: $name', async ({ pause, stopExit, kind }) => {
    const runtime = new FakeRuntime({ stopExit });
    await runtime.start(launch('r1'));
    if (pause) await runtime.pause('r1');
    const exit = await runtime.stop('r1', { graceMs: 100 });
    expect(exit.kind).toBe(kind);
    expect(runtime.inspect('r1').state).toBe('exited');
  });

  it('stop and kill are idempotent: an exited replica answers with its recorded exit', async () => {
    const runtime = new FakeRuntime();
    await runtime.start(launch('r1'));
    const crash = runtime.exit('r1', 'crashed', 137);
    expect(await runtime.stop('r1', { graceMs: 100 })).toEqual(crash);
    expect(await runtime.kill('r1')).toEqual(crash);
    expect(runtime.actionsOf('stop')).toHaveLength(1);
  });

  it('tests mark replicas Ready; exits reach onExit listeners', async () => {
    const runtime = new FakeRuntime();
    const exits: ReplicaExit[] = [];
    const unsubscribe = runtime.onExit((e) => exits.push(e));
    await runtime.start(launch('r1'));
    await runtime.start(launch('r2', 'b'));
    expect(runtime.isReady('r1')).toBe(false);
    runtime.markReady('r1');
    expect(runtime.isReady('r1')).toBe(true);
    runtime.exit('r1');
    expect(runtime.isReady('r1')).toBe(false);
    unsubscribe();
    await runtime.kill('r2');
    expect(exits.map((e) => [e.replicaId, e.kind])).toEqual([['r1', 'crashed']]);
    expect(await runtime.logs('r1', 1)).toEqual(['[fake] exited: crashed']);
  });

  it('a start can be made to fail, with the error a real runtime gives', async () => {
    const runtime = new FakeRuntime({ failStart: (l) => (l.zone === 'b' ? 'port already in use' : null) });
    await runtime.start(launch('ok', 'a'));
    const failure = await runtime.start(launch('bad', 'b')).catch((err: unknown) => err);
    expect(isZerodropError(failure) && failure.code).toBe('ZD_REPLICA_START_FAILED');
    expect(runtime.actionsOf('start').map((c) => c.replicaId)).toEqual(['ok', 'bad']);
  });

  it('unknown replicas are an error naming the id', async () => {
    const runtime = new FakeRuntime();
    const err = await runtime.stop('ghost', { graceMs: 1 }).catch((e: unknown) => e);
    expect(isZerodropError(err) && err.code).toBe('ZD_REPLICA_NOT_FOUND');
    expect(String((err as Error).message)).toContain('ghost');
  });

  it('close stops every replica, destroy kills them', async () => {
    const runtime = new FakeRuntime();
    await runtime.start(launch('r1'));
    await runtime.start(launch('r2'));
    await runtime.pause('r2');
    await runtime.close(1000);
    expect([runtime.inspect('r1').exit?.kind, runtime.inspect('r2').exit?.kind]).toEqual(['graceful', 'killed']);
    const other = new FakeRuntime();
    await other.start(launch('r3'));
    await other.destroy();
    expect(other.inspect('r3').exit?.kind).toBe('killed');
    expect(other.running()).toEqual([]);
  });
});
