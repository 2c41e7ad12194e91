/**
 * sample-app's durable /kv routes on a real data directory, and the two storage faults that break
 * them on purpose: what is acknowledged is on disk before the 2xx (and survives a SIGKILL), unless
 * ack-before-fsync; what one replica wrote is there for the next, unless volume-per-replica.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseExposition, sampleValue } from '../../../contract/src/exposition.js';
import { parseRecords } from '../../src/kv-log.js';
import { killAllSampleApps, request, runSampleAppToExit, startSampleApp } from '../../../test/helpers/sample-app-process.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'zerodrop-kv-test-'));
});
afterEach(async () => {
  await killAllSampleApps();
  rmSync(dir, { recursive: true, force: true });
});

/** What the replica's log on disk holds right now (not what the app holds in memory). */
function onDisk(logFile: string): Map<string, string> {
  const m = new Map<string, Buffer>();
  if (existsSync(logFile)) parseRecords(readFileSync(logFile), m);
  return new Map([...m].map(([k, v]) => [k, v.toString('utf8')]));
}

const put = (url: string, body: string): ReturnType<typeof request> => request(url, { method: 'PUT', body, headers: { 'x-zerodrop-id': 'kv-1' } });

describe('sample-app /kv (durable writes on the volume)', () => {
  it('PUT is on disk, byte for byte, when its 204 arrives; GET returns it; a missing key is 404; GET /kv/ lists the keys', async () => {
    const app = await startSampleApp(['--admin-port', '0', '--replica', 'kv-a', '--data-dir', dir]);
    const body = 'write run-7 é\n'.repeat(3);
    const res = await put(app.url('/kv/run-7'), body);
    expect(res.status).toBe(204);
    expect(res.headers['x-zerodrop-id']).toBe('kv-1');
    expect(onDisk(join(dir, 'kv-a.kvlog')).get('run-7')).toBe(body); // on disk when the 204 arrived
    expect(readdirSync(dir)).toEqual(['kv-a.kvlog']);
    const got = await request(app.url('/kv/run-7'));
    expect(got.status).toBe(200);
    expect(got.body).toBe(body);
    expect((await request(app.url('/kv/run-8'))).status).toBe(404);
    await put(app.url('/kv/run-9'), 'x');
    expect((await request(app.url('/kv/'))).body).toBe('run-7\nrun-9');
    // Keys are file names: nothing outside the volume.
    expect((await put(app.url('/kv/a%2F..%2Fb'), 'x')).status).toBe(400);
    expect((await put(app.url('/kv/.hidden'), 'x')).status).toBe(400);
    expect((await request(app.url('/kv/a'), { method: 'DELETE' })).status).toBe(405);
    expect((await put(app.url('/kv/big'), 'x'.repeat(64 * 1024 + 1))).status).toBe(413);

    const m = parseExposition((await request(app.adminUrl('/metrics'))).body);
    expect(sampleValue(m, 'zerodrop_sample_app_kv_writes_total', { result: 'ok' })).toBe(2);
    expect(sampleValue(m, 'zerodrop_sample_app_kv_writes_total', { result: 'bad_key' })).toBe(2);
    expect(sampleValue(m, 'zerodrop_sample_app_kv_writes_total', { result: 'too_large' })).toBe(1);
    expect(sampleValue(m, 'zerodrop_sample_app_kv_reads_total', { result: 'hit' })).toBe(1);
    expect(sampleValue(m, 'zerodrop_sample_app_kv_reads_total', { result: 'miss' })).toBe(1);
    expect(sampleValue(m, 'zerodrop_sample_app_kv_unsynced_acks_total', {})).toBe(0);
    expect(sampleValue(m, 'http_requests_total', { code: '204', route: '/kv', method: 'PUT' })).toBe(2);
  });

  it('survives a SIGKILL: another replica on the same volume, running or started after, reads every acknowledged write', async () => {
    const a = await startSampleApp(['--replica', 'kv-a', '--data-dir', dir]);
    const running = await startSampleApp(['--replica', 'kv-r', '--data-dir', dir]);
    // Concurrent writes share group commits: fewer fsyncs than writes, each write still on disk before its 204.
    const codes = await Promise.all(Array.from({ length: 20 }, (_, i) => put(a.url(`/kv/k${i}`), `v${i}`).then((r) => r.status)));
    expect(codes).toEqual(Array(20).fill(204));
    for (let i = 0; i < 20; i++) expect((await request(running.url(`/kv/k${i}`))).body).toBe(`v${i}`);
    await a.kill();
    const b = await startSampleApp(['--replica', 'kv-b', '--data-dir', dir]);
    for (let i = 0; i < 20; i++) expect((await request(b.url(`/kv/k${i}`))).body).toBe(`v${i}`);
  });

  it('fault ack-before-fsync: acknowledged from memory, lost on SIGKILL; a graceful exit flushes', async () => {
    const a = await startSampleApp(['--admin-port', '0', '--replica', 'kv-a', '--data-dir', dir, '--fault', 'ack-before-fsync']);
    expect((await put(a.url('/kv/lost'), 'v')).status).toBe(204);
    expect((await request(a.url('/kv/lost'))).body).toBe('v'); // its own memory answers
    expect(onDisk(join(dir, 'kv-a.kvlog')).has('lost')).toBe(false);
    const m = parseExposition((await request(a.adminUrl('/metrics'))).body);
    expect(sampleValue(m, 'zerodrop_sample_app_kv_unsynced_acks_total', {})).toBe(1);
    await a.kill();
    expect(onDisk(join(dir, 'kv-a.kvlog')).has('lost')).toBe(false);

    const b = await startSampleApp([
      '--replica',
      'kv-b',
      '--data-dir',
      dir,
      '--fault',
      'ack-before-fsync',
      '--drain-delay-ms',
      '0',
      '--drain-timeout-ms',
      '3000',
    ]);
    expect((await put(b.url('/kv/kept'), 'w')).status).toBe(204);
    b.signal('SIGTERM');
    expect((await b.waitExit(5000))?.code).toBe(0);
    expect(onDisk(join(dir, 'kv-b.kvlog')).get('kept')).toBe('w');
    const c = await startSampleApp(['--replica', 'kv-c', '--data-dir', dir]);
    expect((await request(c.url('/kv/lost'))).status).toBe(404);
    expect((await request(c.url('/kv/kept'))).body).toBe('w');
  });

  it('fault volume-per-replica: what one replica wrote is not there for another on the same volume', async () => {
    const a = await startSampleApp(['--replica', 'kv-a', '--data-dir', dir, '--fault', 'volume-per-replica']);
    const b = await startSampleApp(['--replica', 'kv-b', '--data-dir', dir, '--fault', 'volume-per-replica']);
    expect((await put(a.url('/kv/k'), 'v')).status).toBe(204);
    expect((await request(a.url('/kv/k'))).body).toBe('v');
    expect((await request(b.url('/kv/k'))).status).toBe(404);
  });

  it('a storage fault without a volume is a usage error (exit 2)', async () => {
    const r = await runSampleAppToExit(['--fault', 'ack-before-fsync']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--data-dir');
  });
});
