/**
 * Contract rule 2, one connection at a time, deterministically:
 * idle keep-alive sockets survive the listener close and are served (never reset while idle);
 * in-flight requests finish with Connection: close; the hard deadline cuts what is left.
 * The close-idle switch (http server.close(), Node >= 19) is shown to reset the idle socket.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { probeConnect, RawConnection } from '../../../test/helpers/raw-http.js';
import { killAllSampleApps, startSampleApp, type SampleAppProcess } from '../../../test/helpers/sample-app-process.js';

const open: RawConnection[] = [];
function connect(app: SampleAppProcess): RawConnection {
  const c = new RawConnection(app.port);
  open.push(c);
  return c;
}

afterEach(async () => {
  for (const c of open.splice(0)) c.destroy();
  await killAllSampleApps();
});

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const listenerClosed = (app: SampleAppProcess) => (): boolean => app.stderr.includes('listener closed');

describe('idle keep-alive connections across a shutdown', () => {
  it('an idle keep-alive socket is not reset when the listener closes; a request written on it afterwards is served with Connection: close', async () => {
    const app = await startSampleApp(['--drain-delay-ms', '300', '--drain-timeout-ms', '5000']);
    const conn = connect(app);
    const first = await conn.send('GET', '/', { 'x-zerodrop-id': 'idle-1' });
    expect(first.status).toBe(200);
    expect(first.headers.get('connection')).toBe('keep-alive');

    app.signal('SIGTERM');
    await until(listenerClosed(app), 3000, 'the listener to close');
    await new Promise((r) => setTimeout(r, 150)); // a server.close() would have reset the socket by now
    expect(await probeConnect(app.port)).toBe('ECONNREFUSED');
    expect(conn.isOpen).toBe(true);

    const second = await conn.send('GET', '/', { 'x-zerodrop-id': 'idle-2' });
    expect(second.status).toBe(200);
    expect(second.headers.get('connection')).toBe('close');
    expect(second.headers.get('x-zerodrop-id')).toBe('idle-2');
    await conn.closed;
    expect(conn.closedByPeer).toBe(true);
    // That was the last connection: the replica exits at once, well before its deadline.
    const exit = await app.waitExit(3000);
    expect(exit?.code).toBe(0);
    expect(app.stderr).not.toMatch(/drain timeout .* reached/);
  });

  it('fault close-idle (http server.close()) resets that same idle socket at listener close', async () => {
    const app = await startSampleApp(['--drain-delay-ms', '300', '--drain-timeout-ms', '5000', '--fault', 'close-idle']);
    const conn = connect(app);
    expect((await conn.send('GET', '/')).status).toBe(200);
    app.signal('SIGTERM');
    await until(listenerClosed(app), 3000, 'the listener to close');
    await conn.closed; // closed by the server while idle: a request written now or a moment ago is lost
    expect(conn.closedByPeer).toBe(true);
    await expect(conn.send('GET', '/')).rejects.toThrow(/closed/);
    expect((await app.waitExit(3000))?.code).toBe(0);
  });

  it('an idle socket nobody uses closes by its own keep-alive timeout, and then the replica exits', async () => {
    const app = await startSampleApp(['--drain-delay-ms', '100', '--drain-timeout-ms', '6000', '--keep-alive-timeout-ms', '300']);
    const conn = connect(app);
    expect((await conn.send('GET', '/')).status).toBe(200);
    app.signal('SIGTERM');
    await until(listenerClosed(app), 3000, 'the listener to close');
    expect(conn.isOpen).toBe(true);
    await conn.closed; // keepAliveTimeout 300 ms + Node 20's 1 s buffer
    const exit = await app.waitExit(3000);
    expect(exit?.code).toBe(0);
    expect(app.stderr).toMatch(/drained: no connection left/);
  });
});

describe('in-flight requests across a shutdown', () => {
  it('a request in flight at SIGTERM completes after the listener closed, with Connection: close', async () => {
    const app = await startSampleApp(['--drain-delay-ms', '200', '--drain-timeout-ms', '5000']);
    const conn = connect(app);
    const pending = conn.send('GET', '/work?ms=1200', { 'x-zerodrop-id': 'slow-1' });
    await new Promise((r) => setTimeout(r, 100));
    app.signal('SIGTERM');
    await until(listenerClosed(app), 3000, 'the listener to close');
    expect(await probeConnect(app.port)).toBe('ECONNREFUSED');
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.headers.get('connection')).toBe('close');
    expect(res.headers.get('x-zerodrop-id')).toBe('slow-1');
    expect(JSON.parse(res.body)).toMatchObject({ workedMs: 1200 });
    expect((await app.waitExit(3000))?.code).toBe(0);
  });

  it('the drain timeout is a hard deadline: what is still open is destroyed and the replica exits 0', async () => {
    const app = await startSampleApp(['--drain-delay-ms', '100', '--drain-timeout-ms', '1000']);
    const conn = connect(app);
    const pending = conn.send('GET', '/work?ms=5000', {}, 8000);
    await new Promise((r) => setTimeout(r, 100));
    const t0 = performance.now();
    app.signal('SIGTERM');
    await expect(pending).rejects.toThrow(/closed before a complete response/);
    const exit = await app.waitExit(3000);
    expect(exit?.code).toBe(0);
    expect((exit?.atMs ?? Infinity) - t0).toBeLessThan(2500);
    expect(app.stderr).toMatch(/drain timeout 1000 ms reached: destroying 1 connection/);
  });
});
