/**
 * A replica's final counts are read with a deadline that covers the connect: a listener that
 * answers no SYN (here: a stopped process whose accept queue is full, the loopback stand-in for a
 * container whose network namespace is gone) gives null after the scrape timeout, not after the
 * kernel's SYN retries. With `req.setTimeout` alone the read waited 20 s and more on the bridge.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { monotonicMs } from '../../../common/src/clock.js';
import { readTrafficResponses } from '../../src/replica-counters.js';

const LISTENER = `
const net = require('node:net');
const server = net.createServer(() => {});
server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
  process.stdout.write(String(server.address().port) + '\\n');
});
`;

let child: ChildProcess | null = null;
const sockets: Socket[] = [];
// A stopped child must not outlive a worker that dies before afterEach.
process.once('exit', () => child?.kill('SIGKILL'));

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  child?.kill('SIGKILL');
  child = null;
});

/** A listener on 127.0.0.1 that accepts nothing more: stopped, its accept queue filled. */
async function deafListener(): Promise<number> {
  child = spawn(process.execPath, ['-e', LISTENER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child!.stdout!.once('data', (c: Buffer) => resolve(Number(c.toString().trim())));
    child!.once('exit', (code) => reject(new Error(`listener exited ${code}`)));
  });
  child.kill('SIGSTOP');
  // kill() does not wait: connect only once the kernel says it is stopped (state T).
  const stat = `/proc/${child.pid}/stat`;
  for (let i = 0; i < 100 && !/\) T /.test(readFileSync(stat, 'utf8')); i++) await new Promise((r) => setTimeout(r, 10));
  expect(readFileSync(stat, 'utf8'), 'the listener did not stop').toMatch(/\) T /);
  // Fill the accept queue (backlog 1 holds 2 on Linux) and then some: later SYNs are dropped.
  for (let i = 0; i < 4; i++) {
    const s = connect({ host: '127.0.0.1', port });
    s.on('error', () => undefined);
    sockets.push(s);
  }
  await new Promise((r) => setTimeout(r, 200));
  return port;
}

describe('readTrafficResponses', () => {
  it('gives null within its deadline when the connect is never answered', async () => {
    const port = await deafListener();
    // The control: a plain connect to it does hang (the deadline is what ends the read).
    const probe = connect({ host: '127.0.0.1', port });
    probe.on('error', () => undefined);
    sockets.push(probe);
    const connected = await new Promise<boolean>((resolve) => {
      probe.once('connect', () => resolve(true));
      setTimeout(() => resolve(false), 1500);
    });
    expect(connected, 'the listener still completed a handshake: the queue was not full').toBe(false);

    const t0 = monotonicMs();
    const counted = await readTrafficResponses({ host: '127.0.0.1', port }, '/metrics', true);
    const ms = monotonicMs() - t0;
    expect(counted).toBeNull();
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms, 'the read waited past its 1 s deadline (the connect is not covered)').toBeLessThan(3000);
  }, 10_000);
});
