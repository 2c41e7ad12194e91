/**
 * Issue 11, item 9: bytes the driver did not ask for are bookkeeping anomalies, not silence. A
 * raw TCP server on 127.0.0.1 (real sockets; in this process, since the misbehaviour is in
 * bytes, not in timing) answers each request correctly, then sends a second response nobody
 * asked for: in the same write (extra bytes after the response) or on its own (unsolicited, on
 * an idle connection). Either way the engine counts an anomaly, so ledger.bookkeeping makes the
 * run INVALID. A server that sends nothing extra is the control: 0 anomalies.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { countByOutcome } from '../../src/driver/analysis.js';
import { startOpenEngine } from '../../src/driver/open.js';
import type { DriverConfig } from '../../src/driver/types.js';

type Extra = 'none' | 'same-write' | 'later';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const STRAY = 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nstray';

async function rawServer(extra: Extra): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) !== -1) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const id = /x-zerodrop-id: *([^\r\n]+)/i.exec(head)?.[1] ?? '';
        const answer = `HTTP/1.1 200 OK\r\nx-zerodrop-id: ${id}\r\nx-served-by: raw\r\ncontent-length: 2\r\n\r\nok`;
        if (extra === 'same-write') sock.write(answer + STRAY);
        else {
          sock.write(answer);
          if (extra === 'later') setTimeout(() => !sock.destroyed && sock.write(STRAY), 5);
        }
      }
    });
  });
  servers.push(server);
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return `http://127.0.0.1:${addr.port}`;
}

function config(url: string): DriverConfig {
  return {
    engine: 'open',
    url,
    runId: 'stray',
    rate: 10,
    connections: 2,
    durationMs: 1000,
    warmupMs: 0,
    timeoutMs: 2000,
    requests: [{ method: 'GET', path: '/', headers: {}, body: null, weight: 1 }],
    maxLateMs: 100,
  };
}

describe('open engine: response bytes nobody asked for are counted as anomalies', () => {
  it.each<[Extra, string]>([
    ['same-write', 'extra bytes after a response'],
    ['later', 'an unsolicited response on an idle connection'],
  ])('%s: %s', async (extra) => {
    const r = await startOpenEngine(config(await rawServer(extra))).done;
    const data = r.ledger.detachData();
    expect(data.length).toBe(10);
    // 100 ms between requests, 5 ms to the stray bytes: each lands on an idle connection (or
    // right behind its response), never on the next request.
    expect(r.summary.anomalies).toBeGreaterThanOrEqual(1);
    expect(countByOutcome(data).ok + countByOutcome(data).byOutcome['id_mismatch']!).toBe(10);
  });

  it('control: a server that sends nothing extra gives 0 anomalies', async () => {
    const r = await startOpenEngine(config(await rawServer('none'))).done;
    expect(r.summary.anomalies).toBe(0);
    expect(r.summary.sent).toBe(10);
    expect(countByOutcome(r.ledger.detachData()).ok).toBe(10);
  });
});
