/**
 * The service proxy (data plane). In-thread: startServiceProxy. In a worker thread (its own core):
 * startProxyWorker. Both implement ProxyControl (types.ts).
 */
export * from './types.js';
export { proxyConfig, validateProxyConfig, isLoopbackAddress } from './config.js';
export type { ProxyConfigOverrides } from './config.js';
export { ServiceProxy, startServiceProxy } from './proxy.js';
export type { ServiceProxyOptions } from './proxy.js';
export { ProxyWorker, startProxyWorker, resolveWorkerEntry } from './worker.js';
