import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IdAttestor, idModeFor } from '../../src/proxy/id-attestation.js';
import { resolveHaproxyBinary } from '../../src/proxy/haproxy/binary.js';
import { idAttestationLines, renderDataPlaneConfig } from '../../src/proxy/haproxy/config.js';
import { proxyConfig, validateProxyConfig } from '../../src/proxy/config.js';
import type { IdMode } from '../../src/proxy/id-attestation.js';

const req = (id: string): string[] => ['Host', 'x', 'X-Zerodrop-Id', id];

describe('IdAttestor', () => {
  it('auto: a first 2xx without the id makes the data plane attest every later answer that has none', () => {
    const a = new IdAttestor('auto');
    const h1: string[] = ['content-type', 'text/plain'];
    a.onResponse(200, req('r-1'), h1);
    expect(h1).toEqual(['content-type', 'text/plain', 'x-zerodrop-id', 'r-1']);
    const h2: string[] = [];
    a.onResponse(404, req('r-2'), h2);
    expect(h2).toEqual(['x-zerodrop-id', 'r-2']);
    // A wrong echo is never rewritten: the driver must still see it.
    const h3 = ['X-Zerodrop-Id', 'r-999'];
    a.onResponse(200, req('r-3'), h3);
    expect(h3).toEqual(['X-Zerodrop-Id', 'r-999']);
    expect(a.stats()).toEqual({ mode: 'attest', source: 'detected', attested: 2 });
  });

  it('auto: a first 2xx that echoes makes it an echoing service; a later answer without the id stays without (a mismatch)', () => {
    const a = new IdAttestor('auto');
    a.onResponse(503, req('r-0'), []); // non-2xx answers do not decide
    expect(a.stats().mode).toBe('undecided');
    a.onResponse(200, req('r-1'), ['x-zerodrop-id', 'r-1']);
    expect(a.passive).toBe(true);
    const h: string[] = [];
    a.onResponse(200, req('r-2'), h);
    expect(h).toEqual([]);
    expect(a.stats()).toEqual({ mode: 'echo', source: 'detected', attested: 0 });
  });

  it('declared modes do not detect', () => {
    const attest = new IdAttestor('attest');
    const h: string[] = [];
    attest.onResponse(500, req('r-1'), h);
    expect(h).toEqual(['x-zerodrop-id', 'r-1']);
    expect(attest.stats()).toEqual({ mode: 'attest', source: 'declared', attested: 1 });
    const echo = new IdAttestor('echo');
    const h2: string[] = [];
    echo.onResponse(200, req('r-1'), h2);
    expect(h2).toEqual([]);
    expect(echo.stats()).toEqual({ mode: 'echo', source: 'declared', attested: 0 });
  });

  it('maps target.echoesId to a mode, and the proxy config refuses an unknown one with the field and a fix', () => {
    expect([idModeFor(undefined), idModeFor(true), idModeFor(false)]).toEqual(['auto', 'echo', 'attest']);
    const bad = { ...proxyConfig('run-1'), ids: 'sometimes' as IdMode };
    expect(() => validateProxyConfig(bad)).toThrow(/proxy config: ids must be one of auto, echo, attest/);
  });
});

describe('HAProxy id attestation rules', () => {
  it('echo adds nothing; auto latches proc.zd_ids; the rendered configs pass haproxy -c', () => {
    expect(idAttestationLines('echo')).toEqual([]);
    expect(idAttestationLines('auto').join('\n')).toContain('set-var(proc.zd_ids) str(attest)');
    expect(idAttestationLines('attest').join('\n')).not.toContain('proc.zd_ids');
    const dir = mkdtempSync(join(tmpdir(), 'zd-ids-'));
    for (const ids of ['auto', 'attest'] as const) {
      const file = join(dir, `${ids}.cfg`);
      writeFileSync(
        file,
        renderDataPlaneConfig({
          config: { ...proxyConfig('run-1'), ids },
          port: 18000,
          socketPath: join(dir, 's.sock'),
          threads: 1,
          maxconn: 100,
          nativeMetricsPort: null,
          hardStopAfterMs: 1000,
          errorsMapPath: join(dir, 'errors.map'),
          requestLog: false,
        }),
      );
      writeFileSync(join(dir, 'errors.map'), '');
      execFileSync(resolveHaproxyBinary(), ['-c', '-q', '-f', file], { stdio: 'pipe' });
    }
  });
});
