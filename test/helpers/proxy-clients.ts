/**
 * The proxy's upstream clients, for running every proxy integration test against each of them
 * (describe.each(UPSTREAM_CLIENTS)): both must keep every behaviour the tests pin.
 */
import type { ProxyConfigOverrides } from '../../orchestrator/src/proxy/config.js';
import type { UpstreamClient } from '../../orchestrator/src/proxy/types.js';

export const UPSTREAM_CLIENTS: readonly UpstreamClient[] = ['raw', 'undici'];

/** `overrides` with upstream.client set. */
export function withClient(client: UpstreamClient, overrides: ProxyConfigOverrides = {}): ProxyConfigOverrides {
  return { ...overrides, upstream: { ...overrides.upstream, client } };
}
