/**
 * The timeline action registry: every action the schema accepts has one definition, and the exec
 * and http steps judge real commands and real HTTP answers (FAIL with the exit code and stderr
 * tail, INVALID with a fix when the command does not exist).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentController } from '../../../orchestrator/src/controller.js';
import { parseScenarioText } from '../../src/scenario/load.js';
import { resolvePlan } from '../../src/scenario/resolve.js';
import { knownKeys } from '../../src/scenario/field-help.js';
import { ACTION_NAMES, TIMELINE_ACTIONS, actionOf, replicaStartsOf, type PlannedStep } from '../../src/timeline/registry.js';
import type { Check } from '../../src/result/types.js';
import type { StepRecord } from '../../src/timeline/types.js';

const ctx = { controller: null as unknown as DeploymentController, log: () => undefined };

function planOf(step: string): PlannedStep {
  const plan = resolvePlan(parseScenarioText(`load: { duration: 60s }\ntimeline:\n  - ${step}\n`, 'ok.yaml'));
  return plan.steps[0]!;
}

async function judge(step: PlannedStep): Promise<{ record: StepRecord; check: Check }> {
  const r = await actionOf(step).execute(step, ctx);
  const record: StepRecord = { step, startedMs: 0, endedMs: 10, outcome: r.outcome, detail: r.detail };
  return { record, check: actionOf(step).checks!(step, 'events.1-x', record, { events: [], sendEnd: 60_000, replicas: 1 })[0]! };
}

describe('the registry', () => {
  it('has one definition per action, each with a schema the scenario accepts', () => {
    expect(ACTION_NAMES).toEqual(['rollout', 'rollback', 'scale', 'crash-zone', 'hang-zone', 'recover-zone', 'rotate-secret', 'exec', 'http']);
    expect(new Set(TIMELINE_ACTIONS.map((a) => a.disruptionKind)).size).toBe(TIMELINE_ACTIONS.length);
    expect(knownKeys(['timeline', 0])).toEqual(expect.arrayContaining(['command', 'until', 'url', 'expectStatus', 'zone', 'version', 'name']));
  });

  it('counts the replica starts a timeline may make, for the pod sandboxes made before the load', () => {
    const d = { replicas: 6, zones: 3 };
    const starts = (...steps: string[]): number =>
      replicaStartsOf(
        steps.length === 0
          ? []
          : resolvePlan(parseScenarioText(`load: { duration: 60s }\ntimeline:\n${steps.map((x) => `  - ${x}\n`).join('')}`, 'ok.yaml')).steps,
        d,
      );
    expect(starts()).toBe(0);
    expect(starts("{ at: 1s, action: exec, command: ['true'] }")).toBe(0);
    // The demo's: a rollout replaces all 6, a crashed zone's 2 are replaced, its recovery brings 2 back; one spare.
    expect(starts('{ at: 10s, action: rollout, version: v2 }', '{ at: 30s, action: crash-zone, zone: b }', '{ at: 45s, action: recover-zone, zone: b }')).toBe(
      11,
    );
    expect(
      starts(
        '{ at: 1s, action: rollout, version: v2 }',
        '{ at: 5s, action: rollback }',
        '{ at: 9s, action: hang-zone, zone: a }',
        '{ at: 12s, action: scale, replicas: 9 }',
      ),
    ).toBe(6 + 6 + 2 + 9 + 1);
    expect(replicaStartsOf([planOf('{ at: 1s, action: rollout, version: v2 }')], { replicas: 200, zones: 1 })).toBe(64);
  });

  it('each action judges itself: an outcome reader and a judge, or checks of its own (exec, http); never both, never neither', () => {
    const how = Object.fromEntries(
      TIMELINE_ACTIONS.map((a) => [a.action, [a.outcome ? 'outcome' : '', a.judge ? 'judge' : '', a.checks ? 'checks' : ''].filter(Boolean).join('+')]),
    );
    expect(how).toEqual({
      rollout: 'outcome+judge',
      rollback: 'outcome+judge',
      scale: 'outcome+judge',
      'crash-zone': 'outcome+judge',
      'hang-zone': 'outcome+judge',
      'recover-zone': 'outcome+judge',
      'rotate-secret': 'outcome+judge',
      exec: 'checks',
      http: 'checks',
    });
  });

  it('plans labels from the action module', () => {
    expect(planOf('{ at: 5s, action: exec, command: [kubectl, rollout, restart, deploy/web], until: [kubectl, rollout, status, deploy/web] }')).toMatchObject({
      kind: 'exec',
      label: 'exec kubectl rollout restart deploy/web at 5s',
      until: ['kubectl', 'rollout', 'status', 'deploy/web'],
      timeoutMs: 60_000,
    });
    expect(planOf('{ at: 5s, action: http, url: "http://127.0.0.1:9/deploy" }')).toMatchObject({
      kind: 'http',
      method: 'POST',
      label: 'http POST http://127.0.0.1:9/deploy at 5s',
    });
  });

  it('refuses an unknown action, naming every registered one', () => {
    let details: string[] = [];
    try {
      parseScenarioText('timeline:\n  - { at: 1s, action: reboot }\n', 'bad.yaml');
    } catch (err) {
      details = (err as { details: string[] }).details;
    }
    expect(details.join('\n')).toMatch(/timeline\[0\]\.action: action must be one of: rollout, .*, exec, http/);
  });
});

describe('exec steps', () => {
  it('a command that exits 0 passes', async () => {
    const { check } = await judge(planOf('{ at: 1s, action: exec, command: [sh, -c, "exit 0"] }'));
    expect(check.status).toBe('pass');
    expect(check.actual).toMatch(/exited 0/);
  });

  it('a non-zero exit FAILs its check with the exit code and the stderr tail', async () => {
    const { check } = await judge(planOf('{ at: 1s, action: exec, command: [sh, -c, "echo rollout blew up >&2; exit 3"] }'));
    expect(check.status).toBe('fail');
    expect(check.actual).toContain('exited 3');
    expect(check.actual).toContain('stderr: rollout blew up');
  });

  it('a timeout FAILs its check (the command is killed)', async () => {
    const { check } = await judge(planOf('{ at: 1s, action: exec, command: [sleep, "5"], timeout: 300ms }'));
    expect(check.status).toBe('fail');
    expect(check.actual).toMatch(/timed out after 300ms \(killed\)/);
  });

  it('a command that is not found is INVALID, with the fix', async () => {
    const { check } = await judge(planOf('{ at: 1s, action: exec, command: [zerodrop-no-such-command, x] }'));
    expect(check.status).toBe('invalid');
    expect(check.actual).toContain('command not found: zerodrop-no-such-command');
    expect(check.actual).toContain('fix: install it, or give its full path');
  });

  it('until is polled until it exits 0', async () => {
    const flag = `/tmp/zd-until-${process.pid}-${Date.now()}`;
    // The command returns at once and the flag appears 0.5 s later: until must poll more than once.
    const { check } = await judge(
      planOf(
        `{ at: 1s, action: exec, command: [sh, -c, "(sleep 0.5; touch ${flag}) >/dev/null 2>&1 &"], until: [test, -e, ${flag}], interval: 100ms, timeout: 5s }`,
      ),
    );
    expect(check.status).toBe('pass');
    expect(check.actual).toMatch(/until test -e .* exited 0 after ([2-9]|\d\d+) polls/);
  });
});

describe('http steps', () => {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.statusCode = req.url === '/deploy' ? 202 : 500;
      res.end(req.url === '/deploy' ? 'accepted' : 'deploy hook broke');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('a 2xx passes; an unexpected status FAILs with it', async () => {
    expect((await judge(planOf(`{ at: 1s, action: http, url: "${base}/deploy" }`))).check.status).toBe('pass');
    const bad = await judge(planOf(`{ at: 1s, action: http, url: "${base}/other" }`));
    expect(bad.check.status).toBe('fail');
    expect(bad.check.actual).toContain('HTTP 500 (deploy hook broke)');
    expect((await judge(planOf(`{ at: 1s, action: http, url: "${base}/deploy", expectStatus: 200 }`))).check.status).toBe('fail');
  });
});
