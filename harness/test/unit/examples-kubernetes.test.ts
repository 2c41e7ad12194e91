/**
 * examples/kubernetes cannot be applied here (no API server can run on these machines), so this
 * keeps it from drifting: the target-mode scenario validates, and the manifests carry what the
 * README says they do.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { resolvePlan } from '../../src/scenario/resolve.js';

const DIR = join(import.meta.dirname, '../../../examples/kubernetes');

describe('examples/kubernetes', () => {
  it('the scenario is a valid target-mode scenario with kubectl rollout and drain steps', () => {
    const plan = resolvePlan(loadScenarioFile(join(DIR, 'scenario.yaml')));
    expect(plan.targetUrl).toMatch(/^http:\/\//);
    expect(plan.steps.map((s) => s.label)).toEqual([
      expect.stringContaining('kubectl rollout restart deployment/web'),
      expect.stringContaining('kubectl drain -l topology.kubernetes.io/zone=b'),
      expect.stringContaining('kubectl uncordon'),
    ]);
  });

  it('the Deployment has readiness, preStop, a grace period, surge-first updates and a zone spread; the Service selects it', () => {
    const d = parse(readFileSync(join(DIR, 'deployment.yaml'), 'utf8'));
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    expect(d.spec.strategy.rollingUpdate).toEqual({ maxSurge: '25%', maxUnavailable: 0 });
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(5 + 1.5);
    expect(pod.topologySpreadConstraints[0].topologyKey).toBe('topology.kubernetes.io/zone');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.lifecycle.preStop.exec.command.length).toBeGreaterThan(0);
    const svc = parse(readFileSync(join(DIR, 'service.yaml'), 'utf8'));
    expect(svc.spec.selector).toEqual(d.spec.selector.matchLabels);
  });
});
