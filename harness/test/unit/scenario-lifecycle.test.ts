/**
 * The Pod lifecycle fields (Kubernetes' names): each bad value is located at its line with a fix,
 * and good values map onto the plan (termination, readiness, health check, template lifecycle).
 */
import { describe, expect, it } from 'vitest';
import { ZerodropError } from '../../../common/src/errors.js';
import { parseScenarioText } from '../../src/scenario/load.js';
import { resolvePlan } from '../../src/scenario/resolve.js';

function problems(yaml: string): { line: number; field: string; message: string; fix: string | null }[] {
  try {
    parseScenarioText(yaml, 'bad.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ZerodropError);
    expect((err as ZerodropError).exitCode).toBe(2);
    return (err as ZerodropError).details.map((d) => {
      const m = /^bad\.yaml:(\d+):\d+ {2}(\S+): (.*?)(?:\n {6}fix: (.*))?$/s.exec(d);
      if (!m) throw new Error(`unexpected problem format: ${d}`);
      return { line: Number(m[1]), field: m[2]!, message: m[3]!, fix: m[4] ?? null };
    });
  }
  throw new Error('expected the scenario to be rejected');
}

const BYO = ['target:', '  command: ["sh", "examples/nginx/nginx-replica.sh"]', '  port: { env: PORT }'];

describe('Pod lifecycle fields: located errors with fix lines', () => {
  it.each([
    ['  stopSignal: SIGKILL', 'target.stopSignal', /SIGQUIT/],
    ['  preStop: { exec: { command: [nginx] }, sleep: { seconds: 1 } }', 'target.preStop', /exactly one of exec, httpGet, sleep|sleep: \{ seconds: 2 \}/],
    ['  preStop: {}', 'target.preStop', /sleep/],
    ['  preStop: { exec: { command: [] } }', 'target.preStop.exec.command', /argv as a list/],
    ['  preStop: { httpGet: { path: drain } }', 'target.preStop.httpGet.path', /path on the replica/],
    ['  preStop: { sleep: { seconds: -1 } }', 'target.preStop.sleep.seconds', /seconds to wait/],
    ['  readinessProbe: { periodSeconds: 0 }', 'target.readinessProbe.periodSeconds', /a number > 0 and ≤ 3600/],
    ['  readinessProbe: { periodSeconds: 1, timeoutSeconds: 2 }', 'target.readinessProbe.timeoutSeconds', /timeoutSeconds: 1/],
    ['  livenessProbe: { successThreshold: 2 }', 'target.livenessProbe.successThreshold', /successThreshold: 1/],
    ['  startupProbe: { failureThreshold: 0 }', 'target.startupProbe.failureThreshold', /a whole number from 1 to 1000/],
    ['  startupProbe: { periodSecond: 1 }', 'target.startupProbe.periodSecond', /periodSeconds/],
    ['  terminationGracePeriodSeconds: -5', 'target.terminationGracePeriodSeconds', /seconds from the start of termination/],
    ['  preStop: { sleep: { seconds: 5 } }\n  terminationGracePeriodSeconds: 3', 'target.terminationGracePeriodSeconds', /terminationGracePeriodSeconds: 15/],
  ])('%s → %s', (line, field, fix) => {
    const found = problems([...BYO, line].join('\n'));
    const p = found.find((x) => x.field === field);
    expect(p, JSON.stringify(found)).toBeDefined();
    expect(p!.line).toBe(4 + (line.startsWith('  preStop: { sleep: { seconds: 5 } }\n') ? 1 : 0));
    expect(p!.fix ?? '').toMatch(fix);
  });
});

describe('Pod lifecycle fields: the plan', () => {
  it('maps every field onto termination, readiness, the health check and the template lifecycle', () => {
    const yaml = [
      ...BYO,
      '  stopSignal: SIGQUIT',
      '  preStop: { exec: { command: ["sh", "-c", "sleep 1"] } }',
      '  readinessProbe: { httpGet: { path: /ready }, periodSeconds: 0.5, timeoutSeconds: 0.4, failureThreshold: 2, successThreshold: 2, initialDelaySeconds: 1 }',
      '  livenessProbe: { httpGet: { path: /live }, periodSeconds: 0.3, timeoutSeconds: 0.2, failureThreshold: 4 }',
      '  startupProbe: { httpGet: { path: /started }, periodSeconds: 0.2, failureThreshold: 50 }',
      '  terminationGracePeriodSeconds: 7',
    ].join('\n');
    const plan = resolvePlan(parseScenarioText(yaml, 'ok.yaml'));
    const t = plan.deployment.template;
    expect(t.lifecycle).toEqual({
      stopSignal: 'SIGQUIT',
      preStop: { kind: 'exec', command: ['sh', '-c', 'sleep 1'] },
      startupProbe: { path: '/started', periodMs: 200, timeoutMs: 400, successThreshold: 1, failureThreshold: 50, initialDelayMs: 1000 },
      // The kubelet's restart rule; unset fields take the readiness probe's.
      livenessProbe: { path: '/live', periodMs: 300, timeoutMs: 200, successThreshold: 1, failureThreshold: 4, initialDelayMs: 1000 },
    });
    expect(t.readiness).toEqual({ path: '/ready', periodMs: 500, timeoutMs: 400, successThreshold: 2, failureThreshold: 2, initialDelayMs: 1000 });
    expect(plan.deployment.termination).toMatchObject({ gracePeriodMs: 7000, preStopMs: 0 });
    expect(plan.proxy.healthCheck).toMatchObject({ path: '/live', intervalMs: 300, timeoutMs: 200, unhealthyThreshold: 4 });
  });

  it('a preStop sleep is the termination preStop; no lifecycle fields = SIGTERM, no hook, no startup probe', () => {
    const slept = resolvePlan(parseScenarioText([...BYO, '  preStop: { sleep: { seconds: 1.5 } }'].join('\n'), 'ok.yaml'));
    expect(slept.deployment.termination.preStopMs).toBe(1500);
    expect(slept.deployment.template.lifecycle).toEqual({ stopSignal: 'SIGTERM', preStop: null, startupProbe: null, livenessProbe: null });
  });
});
