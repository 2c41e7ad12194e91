/**
 * The real parts the test suite exercises (Prometheus, HAProxy, a Docker engine, nginx). A test that
 * needs one and finds it missing skips, saying why; on CI (`CI=true`) a missing part fails the
 * whole run instead, so a CI machine that lost a package can never turn proof into a silent skip.
 */
import { existsSync } from 'node:fs';
import { findPrometheusBinary, INSTALL_FIX as PROMETHEUS_FIX } from '../harness/src/prometheus/server.js';
import { HAPROXY_INSTALL_FIX, haproxyAvailability } from '../orchestrator/src/proxy/haproxy/binary.js';
import { ENGINE_FIX, connectEngine, createDockerClient } from '../orchestrator/src/runtime/docker-engine.js';

export interface Requirement {
  name: 'prometheus' | 'haproxy' | 'docker' | 'nginx';
  ok: boolean;
  /** The version found, or why it is missing. */
  detail: string;
  fix: string;
}

export async function probeRequirements(): Promise<Requirement[]> {
  const prometheus = findPrometheusBinary();
  const haproxy = haproxyAvailability();
  let docker: Requirement;
  try {
    const info = await connectEngine(createDockerClient(), 3000);
    docker = { name: 'docker', ok: true, detail: `Docker ${info.serverVersion}`, fix: ENGINE_FIX };
  } catch (err) {
    docker = { name: 'docker', ok: false, detail: `no Docker engine reachable (${err instanceof Error ? err.message : String(err)})`, fix: ENGINE_FIX };
  }
  return [
    { name: 'prometheus', ok: prometheus !== null, detail: prometheus ?? 'no prometheus binary ($ZERODROP_PROMETHEUS_BIN or PATH)', fix: PROMETHEUS_FIX },
    { name: 'haproxy', ok: haproxy.ok, detail: haproxy.ok ? `haproxy ${haproxy.version}` : haproxy.reason, fix: HAPROXY_INSTALL_FIX },
    docker,
    // A real third-party subject (test/integration/byo-nginx.test.ts, target-mode.test.ts).
    { name: 'nginx', ok: existsSync(NGINX), detail: existsSync(NGINX) ? NGINX : `no ${NGINX}`, fix: 'apt-get install -y nginx-light (.ci/run does)' },
  ];
}

const NGINX = '/usr/sbin/nginx';

export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env['CI'] ?? '').toLowerCase();
  return v === 'true' || v === '1';
}

/**
 * What the suite does about missing parts: on CI, an error naming each and its fix (the run
 * fails); elsewhere, the lines to print so the skips show in the test summary.
 */
export function requirementsOutcome(found: readonly Requirement[], ci: boolean): { error: string | null; skipped: string[] } {
  const missing = found.filter((r) => !r.ok);
  const lines = missing.map((r) => `${r.name}: ${r.detail}; fix: ${r.fix}`);
  if (missing.length === 0) return { error: null, skipped: [] };
  if (ci) {
    return {
      error: `ZD_TEST_PREREQUISITE_MISSING: CI=true and ${missing.map((r) => r.name).join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing; on CI the tests that need ${missing.length === 1 ? 'it' : 'them'} fail instead of skipping:\n  ${lines.join('\n  ')}`,
      skipped: [],
    };
  }
  return { error: null, skipped: lines.map((l) => `SKIPPED (not CI): ${l}`) };
}
