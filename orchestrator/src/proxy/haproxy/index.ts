/**
 * HAProxy as zerodrop's data plane (optional: `proxy.engine: haproxy`, `--proxy haproxy`).
 * config.ts: the semantics; stats.ts: what each counter is worth; data-plane.ts: the control.
 */
export { HaproxyDataPlane, startHaproxyDataPlane } from './data-plane.js';
export type { HaproxyDataPlaneOptions } from './data-plane.js';
export { HAPROXY_BIN, HAPROXY_INSTALL_FIX, haproxyAvailability, preflightHaproxy, resolveHaproxyBinary } from './binary.js';
export type { HaproxyAvailability } from './binary.js';
export { renderDataPlaneConfig, addServerCommand } from './config.js';
