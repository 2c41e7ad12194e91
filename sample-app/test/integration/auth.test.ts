/**
 * sample-app's bearer gate (deployment.secrets) over real HTTP: traffic routes need the mounted
 * token (or the previous one during an overlap window), probes and the admin port do not; the
 * two faults break exactly that.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { killAllSampleApps, request, runSampleAppToExit, startSampleApp } from '../../../test/helpers/sample-app-process.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'zerodrop-auth-test-'));
  writeFileSync(join(dir, 'token'), 'new-token-1234567890\n', { mode: 0o400 });
  writeFileSync(join(dir, 'token.previous'), 'old-token-1234567890', { mode: 0o400 });
});
afterEach(async () => {
  await killAllSampleApps();
  rmSync(dir, { recursive: true, force: true });
});

const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });

describe('sample-app bearer token (deployment.secrets)', () => {
  it('traffic needs the token or, in the overlap window, the previous one; probes and the admin port do not', async () => {
    const app = await startSampleApp(['--admin-port', '0', '--secrets-dir', dir]);
    const none = await request(app.url('/'));
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect((await request(app.url('/'), { headers: bearer('wrong-token-123456789') })).status).toBe(401);
    expect((await request(app.url('/'), { headers: bearer('new-token-1234567890') })).status).toBe(200);
    expect((await request(app.url('/'), { headers: bearer('old-token-1234567890') })).status).toBe(200);
    expect((await request(app.url('/work?ms=1'), { headers: bearer('new-token-1234567890') })).status).toBe(200);
    expect((await request(app.url('/readyz'))).status).toBe(200);
    expect((await request(app.adminUrl('/metrics'))).status).toBe(200);
    expect(app.stderr).not.toContain('token-1234567890');
  });

  it('fault rotate-without-overlap: the previous token is refused', async () => {
    const app = await startSampleApp(['--secrets-dir', dir, '--fault', 'rotate-without-overlap']);
    expect((await request(app.url('/'), { headers: bearer('old-token-1234567890') })).status).toBe(401);
    expect((await request(app.url('/'), { headers: bearer('new-token-1234567890') })).status).toBe(200);
  });

  it('fault log-secret: the token is printed', async () => {
    const app = await startSampleApp(['--secrets-dir', dir, '--fault', 'log-secret']);
    expect(app.stderr).toContain('new-token-1234567890');
  });

  it('a secrets fault without a secret, or a directory without a token, does not start', async () => {
    expect((await runSampleAppToExit(['--fault', 'log-secret'])).code).toBe(2);
    rmSync(join(dir, 'token'));
    const r = await runSampleAppToExit(['--secrets-dir', dir]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('no token in');
  });
});
