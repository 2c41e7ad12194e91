/**
 * Picks the data plane named by the scenario (`proxy.engine`) or `--proxy`: zerodrop's own proxy
 * in a worker thread (node, the default) or HAProxy driven through its runtime API (haproxy).
 * Both implement ProxyControl; the run does not care which one carries the traffic.
 */
import { ZerodropError } from '../../../common/src/errors.js';
import { preflightHaproxy } from './haproxy/binary.js';
import { startHaproxyDataPlane } from './haproxy/data-plane.js';
import type { ProxyConfig, ProxyControl } from './types.js';
import { startProxyWorker } from './worker.js';
import type { DataPlaneEngine } from './engines.js';

export { type DataPlaneEngine } from './engines.js';

export interface DataPlaneOptions {
  engine: DataPlaneEngine;
  /** How the engine was chosen ("engine: node", "auto: HAProxy 2.6.12 at /usr/sbin/haproxy"), said in the plan and the report. */
  why?: string;
  /** HAProxy only: nbthread (default 1). */
  threads?: number;
}

/**
 * Refuses, before anything starts, a data plane that cannot run here (HAProxy not installed or
 * too old), with the fix. Cheap: one `haproxy -v`, cached.
 */
export function preflightDataPlane(engine: DataPlaneEngine): void {
  if (engine === 'haproxy') preflightHaproxy();
  else if (engine !== 'node') {
    throw new ZerodropError('ZD_BAD_USAGE', `unknown proxy engine ${JSON.stringify(engine)}`, { fix: 'use node (default) or haproxy' });
  }
}

/** Starts the data plane; resolves once it accepts traffic. Start it from the main thread (HAProxy's pdeathsig follows that thread). */
export async function startDataPlane(options: DataPlaneOptions, config: ProxyConfig): Promise<ProxyControl> {
  preflightDataPlane(options.engine);
  if (options.engine === 'haproxy') return await startHaproxyDataPlane(config, options.threads === undefined ? {} : { threads: options.threads });
  return await startProxyWorker(config);
}
