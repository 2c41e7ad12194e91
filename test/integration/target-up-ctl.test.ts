/**
 * Target mode against a deployment of zerodrop's own that the run did not start: a separate
 * `zerodrop up`, rolled out by an exec step running `zerodrop ctl rollout`, with `until` polling
 * its status. The sample-app drains: PASS. The same with replicas that exit abruptly and the
 * up's proxy not retrying: the client sees the drops, FAIL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkOf, explain, runYaml } from '../helpers/scenario-run.js';

const ROOT = join(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/zerodrop.js');

const UP = `
name: up-for-target
deployment: { replicas: 2, zones: [a, b], strategy: { maxSurge: 1, maxUnavailable: 0 } }
`;

// Exits 0 once the deployment runs v2 everywhere and no rollout is in progress.
const ROLLED_OUT = `
const admin = process.argv[2];
const s = await (await fetch(admin + '/status')).json();
process.exit(s.version === 'v2' && !s.rolloutInProgress && s.status.updatedReplicas === s.desiredReplicas ? 0 : 1);
`;

async function up(extra: string[]): Promise<{ child: ChildProcess; service: string; admin: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'zd-target-up-'));
  writeFileSync(join(dir, 'up.yaml'), UP);
  writeFileSync(join(dir, 'rolled-out.mjs'), ROLLED_OUT);
  const child = spawn(process.execPath, [BIN, 'up', join(dir, 'up.yaml'), '--out', dir, ...extra], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stderr.on('data', (c: Buffer) => (text += c.toString('utf8')));
  const deadline = Date.now() + 30_000;
  while (!(/admin\s+http:\/\/127\.0\.0\.1:\d+/.test(text) && /service\s+http:\/\/127\.0\.0\.1:\d+/.test(text))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`zerodrop up did not print its URLs:\n${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, dir, service: /service\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(text)![1]!, admin: /admin\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(text)![1]! };
}

async function stopUp(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  await exited;
}

const scenario = (u: { service: string; admin: string; dir: string }) => `
name: target-up
target: { url: "${u.service}/" }
load: { rate: 150, duration: 8s, warmup: 1s, timeout: 4s, requests: [{ path: "/", weight: 3 }, { path: "/work?ms=20", weight: 1 }] }
timeline:
  - { at: 1500ms, action: exec, command: ["${process.execPath}", "${BIN}", "ctl", "rollout", "v2", "--admin", "${u.admin}"],
      until: ["${process.execPath}", "${join(u.dir, 'rolled-out.mjs')}", "${u.admin}"], interval: 250ms, timeout: 20s }
`;

describe('target mode: zerodrop up rolled out by an exec step running zerodrop ctl', () => {
  it('a draining sample-app: PASS, the step waited for the rollout to complete', async () => {
    const u = await up([]);
    try {
      const { result } = await runYaml(scenario(u));
      expect(result.verdict, explain(result)).toBe('PASS');
      expect(checkOf(result, 'events.1-exec').actual).toMatch(/until .* exited 0 after \d+ polls?/);
    } finally {
      await stopUp(u.child);
    }
  });

  it("replicas that exit abruptly, the up's proxy not retrying: the client sees the drops, FAIL (exit 1)", async () => {
    const u = await up(['--app-fault', 'abrupt-exit', '--no-retries']);
    try {
      const { result } = await runYaml(scenario(u));
      expect(result.verdict, explain(result)).toBe('FAIL');
      expect(result.exitCode).toBe(1);
      expect(checkOf(result, 'ledger.no-failed-requests').status).toBe('fail');
      expect(result.disruption.events[0]!.failed).toBeGreaterThan(0);
    } finally {
      await stopUp(u.child);
    }
  });
});
