/**
 * The bookkeeping both real runtimes share (replica-book.ts) and the listening announcement
 * (supervised-child.ts): how an exit is classified from what was asked, the bounded log, the
 * port's reads. The runtimes themselves are exercised with real processes and containers.
 */
import { describe, expect, it } from 'vitest';
import { LOG_LINES_KEPT, ReplicaBook, freshBookkeeping, keepLogLine, type BookedReplica } from '../../src/runtime/replica-book.js';
import { parseAnnouncement } from '../../src/runtime/supervised-child.js';
import type { ReplicaExit, ReplicaLaunch } from '../../src/runtime/types.js';
import { template } from './support/fixtures.js';

function launch(replicaId: string): ReplicaLaunch {
  return { runId: 'r', replicaId, deployment: 'd', zone: 'a', revision: 1, template: template('v1'), resources: { memoryMiB: 0, cpus: 0 } };
}

function booked(id: string): { book: ReplicaBook<BookedReplica>; r: BookedReplica; heard: ReplicaExit[] } {
  const book = new ReplicaBook<BookedReplica>();
  const r = book.add(freshBookkeeping(launch(id)));
  const heard: ReplicaExit[] = [];
  book.onExit((e) => heard.push(e));
  return { book, r, heard };
}

describe('replica bookkeeping', () => {
  it.each<{ asked: string; stopRequested: boolean; killSent: boolean; crashed: boolean; kind: ReplicaExit['kind'] }>([
    { asked: 'nothing', stopRequested: false, killSent: false, crashed: false, kind: 'crashed' },
    { asked: 'SIGTERM', stopRequested: true, killSent: false, crashed: false, kind: 'graceful' },
    { asked: 'SIGTERM, then SIGKILL', stopRequested: true, killSent: true, crashed: false, kind: 'killed' },
    { asked: 'SIGKILL', stopRequested: false, killSent: true, crashed: false, kind: 'killed' },
    { asked: 'SIGTERM, but OOM-killed', stopRequested: true, killSent: false, crashed: true, kind: 'crashed' },
  ])('asked $asked → $kind, recorded once, every listener told', async ({ stopRequested, killSent, crashed, kind }) => {
    const { book, r, heard } = booked('x');
    r.stopRequested = stopRequested;
    r.killSent = killSent;
    const exit = book.recordExit(r, 137, 'SIGKILL', crashed);
    expect(exit).toMatchObject({ replicaId: 'x', kind, code: 137, signal: 'SIGKILL' });
    expect(book.recordExit(r, 0, null)).toBe(exit);
    expect(await r.exited).toBe(exit);
    expect(heard).toEqual([exit]);
    expect(book.inspect('x', { pid: 7, containerId: null })).toEqual({ replicaId: 'x', state: 'exited', pid: 7, containerId: null, exit });
    expect(book.live()).toEqual([]);
  });

  it('inspect says paused or running; logs keep the last lines; an unknown id is ZD_REPLICA_NOT_FOUND', () => {
    const { book, r } = booked('y');
    r.paused = true;
    expect(book.inspect('y', { pid: null, containerId: 'c1' }).state).toBe('paused');
    r.paused = false;
    expect(book.inspect('y', { pid: null, containerId: 'c1' }).state).toBe('running');
    for (let i = 0; i < LOG_LINES_KEPT + 5; i++) keepLogLine(r.logs, `line ${i}`);
    expect(r.logs).toHaveLength(LOG_LINES_KEPT);
    expect(book.logs('y', 2)).toEqual([`line ${LOG_LINES_KEPT + 3}`, `line ${LOG_LINES_KEPT + 4}`]);
    expect(book.logs('nobody', 2)).toEqual([]);
    expect(() => book.get('nobody')).toThrow(expect.objectContaining({ code: 'ZD_REPLICA_NOT_FOUND' }));
  });
});

describe('the listening announcement', () => {
  it.each<[string, ReturnType<typeof parseAnnouncement>]>([
    ['{"event":"listening","port":8080}', { port: 8080, adminPort: null }],
    ['{"event":"listening","port":8080,"adminPort":9091,"pid":1}', { port: 8080, adminPort: 9091 }],
    ['{"event":"listening","port":"8080"}', null],
    ['{"event":"ready","port":8080,"note":"listening"}', null],
    ['listening on 8080', null],
    ['{"event":"listening",', null],
  ])('%s', (line, want) => {
    expect(parseAnnouncement(line)).toEqual(want);
  });
});
