/**
 * Target mode against a deployment zerodrop did not start: one nginx (Debian's), started here,
 * outside zerodrop. The timeline's exec step changes it under load: `nginx -s reload` with a
 * changed config keeps every request (PASS); a hard restart (stop, then start again) drops them
 * (FAIL, exit 1). An unreachable target is a coded error before any load (exit 3), and a URL
 * that is not loopback needs an explicit opt-in (exit 2).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZerodropError } from '../../common/src/errors.js';
import { parseScenarioText } from '../../harness/src/scenario/load.js';
import { checkOf, explain, runYaml } from '../helpers/scenario-run.js';

const NGINX = '/usr/sbin/nginx';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitUp(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nginx on ${port} did not come up`);
}

/** nginx in the foreground, like a service someone else runs. */
class OwnNginx {
  child: ChildProcess | null = null;
  readonly dir = mkdtempSync(join(tmpdir(), 'zd-target-nginx-'));
  port = 0;
  async start(): Promise<void> {
    this.port = await freePort();
    // keepalive_timeout 0: on a reload nginx's old workers close their idle keep-alive connections,
    // which races a client writing on one (measured: 5 resets in 900 requests at 200 req/s with
    // 65 s). With a connection per request there is nothing to race: the reload itself is lossless.
    // Its own process group, so stop() takes its workers with it.
    this.child = spawn('sh', ['examples/nginx/nginx-replica.sh'], {
      env: { ...process.env, PORT: String(this.port), NGINX_DIR: this.dir, NGINX_KEEPALIVE: '0' },
      stdio: 'ignore',
      detached: true,
    });
    await waitUp(this.port);
  }
  /**
   * Whatever nginx runs from this dir now (the first one, or the one a step started: a daemon
   * leads its own session, so its group is its pid), workers included.
   */
  stop(): void {
    const groups = [this.child?.pid];
    const pidFile = join(this.dir, 'nginx.pid');
    if (existsSync(pidFile)) groups.push(Number(readFileSync(pidFile, 'utf8').trim()));
    for (const pgid of groups) {
      if (!pgid) continue;
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const scenario = (port: number, command: string) => `
name: target-nginx
target: { url: "http://127.0.0.1:${port}/" }
load: { rate: 200, duration: 5s, warmup: 1s, timeout: 4s }
timeline:
  - { at: 2s, action: exec, command: ["sh", "-c", ${JSON.stringify(command)}], timeout: 5s }
`;

describe('target mode: a deployment zerodrop did not start', () => {
  const nginx = new OwnNginx();
  beforeAll(() => nginx.start());
  afterAll(() => nginx.stop());

  it("nginx -s reload with a changed config under load: PASS; the checks that need zerodrop's replicas are not applicable", async () => {
    const d = nginx.dir;
    const reload = `sed -i 's/hello from nginx/hello again from nginx/' ${d}/nginx.conf && ${NGINX} -e stderr -p ${d}/ -c ${d}/nginx.conf -s reload`;
    const { result } = await runYaml(scenario(nginx.port, reload));
    expect(result.verdict, explain(result)).toBe('PASS');
    expect(result.exitCode).toBe(0);
    expect(checkOf(result, 'events.1-exec').status).toBe('pass');
    // The exec step is the disruption: the headline names it, not "load only".
    expect(result.headline).toMatch(/ through exec sh -c /);
    expect(checkOf(result, 'counters.sent-equals-received')).toMatchObject({
      status: 'skip',
      actual: expect.stringContaining('not applicable in target mode'),
    });
    expect(checkOf(result, 'orchestrator.invariants').status).toBe('skip');
    expect(checkOf(result, 'ledger.ids-echoed').actual).toContain('target mode');
    // No serverCounters given: the server-side reconciliation is listed as skipped, never passed.
    expect(checkOf(result, 'server.counters')).toMatchObject({ status: 'skip', actual: expect.stringContaining('no target.serverCounters') });
    expect(await (await fetch(`http://127.0.0.1:${nginx.port}/`)).text()).toContain('hello again from nginx');
  });

  it('the same nginx hard-restarted (stopped, then started again) under load: FAIL, exit 1', async () => {
    const d = nginx.dir;
    // The new nginx daemonizes (it must outlive the step); stop() kills it through its pid file.
    const restart = `kill -TERM $(cat ${d}/nginx.pid); sleep 0.5; sed 's/^daemon off;/daemon on;/' ${d}/nginx.conf > ${d}/nginx-daemon.conf && ${NGINX} -e stderr -p ${d}/ -c ${d}/nginx-daemon.conf`;
    const { result } = await runYaml(scenario(nginx.port, restart));
    expect(result.verdict, explain(result)).toBe('FAIL');
    expect(result.exitCode).toBe(1);
    expect(checkOf(result, 'ledger.no-failed-requests').status).toBe('fail');
    // The requests refused while nginx was down fall in the exec step's disruption window.
    expect(result.disruption.events.map((e) => e.kind)).toEqual(['exec']);
    expect(result.disruption.events[0]!.failed).toBeGreaterThan(0);
    // …and the report attributes them to that step, not to steady state.
    const step = Object.keys(result.failures.byStep).find((k) => k.startsWith('exec sh -c kill -TERM'));
    expect(step, JSON.stringify(result.failures.byStep)).toBeDefined();
    expect(result.failures.byStep[step!]).toBeGreaterThanOrEqual(result.load.failed / 2);
  });

  it('an unreachable target is ZD_TARGET_UNREACHABLE (exit 3) before any load', async () => {
    const port = await freePort();
    const err = await runYaml(scenario(port, 'true')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZerodropError);
    expect((err as ZerodropError).code).toBe('ZD_TARGET_UNREACHABLE');
    expect((err as ZerodropError).exitCode).toBe(3);
    expect((err as ZerodropError).fix).toContain('check target.url');
  });

  it('a URL that is not loopback needs target.allowRemote: true (exit 2, at the field, with the fix); a rollout step is refused', () => {
    let details: string[] = [];
    try {
      parseScenarioText('target: { url: "http://10.1.2.3:8080/" }\ntimeline:\n  - { at: 1s, action: rollout, version: v2 }\n', 'remote.yaml');
    } catch (e) {
      expect((e as ZerodropError).exitCode).toBe(2);
      details = (e as ZerodropError).details;
    }
    expect(details.join('\n')).toMatch(/remote\.yaml:1:\d+ {2}target\.url: 10\.1\.2\.3 is not a loopback address[\s\S]*fix: .*target\.allowRemote: true/);
    expect(details.join('\n')).toMatch(/timeline\[0\]\.action: rollout acts on zerodrop's own replicas/);
    expect(() => parseScenarioText('target: { url: "http://10.1.2.3:8080/", allowRemote: true }\n', 'remote.yaml')).not.toThrow();
  });
});
