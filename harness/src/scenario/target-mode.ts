/**
 * Target mode: `target: { url }` verifies a deployment zerodrop did not start (a Kubernetes
 * Deployment behind its Service, a Swarm service, a VM fleet behind a load balancer). The driver
 * sends to that URL and the timeline's steps are commands (exec) and calls (http). These are its
 * scenario rules: nothing of zerodrop's own to start, steps that need no replicas of zerodrop's,
 * and an explicit opt-in for a URL that is not loopback (a load of thousands of req/s against the
 * wrong host is an attack).
 */
import { isIP } from 'node:net';
import type { Scenario } from './schema.js';

export interface TargetModeProblem {
  path: PropertyKey[];
  message: string;
  fix?: string;
}

/** Actions a target-mode timeline may use (the others act on zerodrop's own replicas). */
export const TARGET_MODE_ACTIONS: readonly string[] = ['exec', 'http'];

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

export function targetModeProblems(s: Scenario, usable: (...fields: string[]) => boolean = () => true): TargetModeProblem[] {
  const t = s.target;
  if (!usable('target.url')) return [];
  if (t.url === undefined) {
    return t.serverCounters === undefined || !usable('target.serverCounters')
      ? []
      : [
          {
            path: ['target', 'serverCounters'],
            message: 'serverCounters are for target mode (a deployment zerodrop does not start)',
            fix: "give target.url, or drop serverCounters: zerodrop reconciles its own replicas' counters (counters.*)",
          },
        ];
  }
  const out: TargetModeProblem[] = [...serverCounterProblems(s, usable)];
  const owned = (['app', 'command', 'image'] as const).filter((k) => t[k] !== undefined);
  if (owned.length > 0) {
    out.push({
      path: ['target', 'url'],
      message: `target.url is a deployment zerodrop does not start: give it without target.${owned.join(', target.')}`,
      fix: 'keep target.url (target mode), or drop it to let zerodrop run your command/image',
    });
  }
  const url = new URL(t.url);
  if (url.protocol !== 'http:')
    out.push({
      path: ['target', 'url'],
      message: `${url.protocol} is not supported: the driver speaks plain HTTP/1.1`,
      fix: "use an http:// URL (put TLS in front of the driver's view, e.g. the Service's cluster address)",
    });
  if (!isLoopbackHost(url.hostname) && t.allowRemote !== true) {
    out.push({
      path: ['target', 'url'],
      message: `${url.hostname} is not a loopback address: a load of ${s.load.rate} req/s against the wrong host is an attack`,
      fix: 'if this host is yours and may take the load, say so with target.allowRemote: true',
    });
  }
  if (usable('load.engine') && s.load.engine !== 'open') {
    out.push({
      path: ['load', 'engine'],
      message: 'target mode needs the open engine (it accepts answers that do not echo x-zerodrop-id)',
      fix: 'engine: open',
    });
  }
  if (usable('timeline')) {
    s.timeline.forEach((step, i) => {
      if (!TARGET_MODE_ACTIONS.includes(step.action)) {
        out.push({
          path: ['timeline', i, 'action'],
          message: `${step.action} acts on zerodrop's own replicas; in target mode the timeline runs commands and calls`,
          fix: 'use { action: exec, command: [...] } (e.g. kubectl rollout restart deploy/web) or { action: http, url: ... }',
        });
      }
    });
  }
  return out;
}

/** Server-side counters need a Prometheus to read them from, and one name each (check ids). */
function serverCounterProblems(s: Scenario, usable: (...fields: string[]) => boolean): TargetModeProblem[] {
  const counters = s.target.serverCounters;
  if (counters === undefined || !usable('target.serverCounters')) return [];
  const out: TargetModeProblem[] = [];
  if (usable('prometheus') && (s.prometheus === 'off' || s.prometheus === 'auto')) {
    out.push({
      path: ['target', 'serverCounters'],
      message: `serverCounters are read from your Prometheus, and prometheus is ${s.prometheus}`,
      fix: "give the Prometheus that scrapes the service: prometheus: http://127.0.0.1:9090 (auto starts one that scrapes only zerodrop's own parts)",
    });
  }
  const seen = new Set<string>();
  counters.queries.forEach((q, i) => {
    if (seen.has(q.name))
      out.push({
        path: ['target', 'serverCounters', 'queries', i, 'name'],
        message: `${q.name} is used twice: each query is one check, server.<name>`,
        fix: 'give each query its own name',
      });
    seen.add(q.name);
  });
  return out;
}
