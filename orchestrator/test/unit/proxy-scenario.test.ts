/**
 * The proxy's upstream client in a scenario file: proxy.upstream.client (raw | undici), defaulted
 * from the proxy's own default, resolved into the proxy config, and the raw client's one rule
 * (no pipelining) reported at the field with its location.
 */
import { describe, expect, it } from 'vitest';
import { parseScenarioText } from '../../../harness/src/scenario/load.js';
import { resolvePlan } from '../../../harness/src/scenario/resolve.js';
import { DEFAULT_UPSTREAM_CLIENT } from '../../src/proxy/types.js';
import { validateProxyConfig } from '../../src/proxy/config.js';

const plan = (proxy: string) => resolvePlan(parseScenarioText(`name: x\n${proxy}`, 'x.yaml'));

describe('proxy.upstream.client in a scenario', () => {
  it('defaults to the proxy default (raw) and resolves into a valid proxy config', () => {
    const p = plan('');
    expect(p.proxy.upstream.client).toBe(DEFAULT_UPSTREAM_CLIENT);
    expect(DEFAULT_UPSTREAM_CLIENT).toBe('raw');
    expect(() => validateProxyConfig({ ...p.proxy, runId: 'r' })).not.toThrow();
  });

  it('undici may pipeline', () => {
    expect(plan('proxy: { upstream: { client: undici, pipelining: 4 } }').proxy.upstream).toMatchObject({ client: 'undici', pipelining: 4 });
  });

  it('raw with pipelining > 1, or an unknown client, is refused at the field', () => {
    expect(() => plan('proxy: { upstream: { pipelining: 4 } }')).toThrow(/1 problem/);
    try {
      plan('proxy:\n  upstream: { pipelining: 4 }');
    } catch (e) {
      expect(String((e as { details?: string[] }).details)).toMatch(
        /x\.yaml:3:\d+ +proxy\.upstream\.pipelining: the raw upstream client sends one request at a time/,
      );
    }
    expect(() => plan('proxy: { upstream: { client: h2 } }')).toThrow(/1 problem/);
  });
});
