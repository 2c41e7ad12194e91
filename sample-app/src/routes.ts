/**
 * Route and method labels of sample-app's traffic metrics. Both sets are closed, so every label
 * combination is bounded (Prometheus naming guide: "do not use labels to store dimensions with
 * high cardinality"): any path that is not one of ours is labelled `unmatched`, any method that is
 * not a common one is labelled `OTHER`.
 *
 * The probe routes themselves are the contract's (contract/src/probes.ts).
 */

export const ROUTES = ['/', '/work', '/echo', '/kv', '/healthz', '/readyz', '/metrics', 'unmatched'] as const;
export type RouteLabel = (typeof ROUTES)[number];

export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'OTHER'] as const;
export type MethodLabel = (typeof METHODS)[number];

/** The route label of a request target (path plus optional query string). */
export function routeLabel(url: string): RouteLabel {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  switch (path) {
    case '/':
    case '/work':
    case '/echo':
    case '/healthz':
    case '/readyz':
    case '/metrics':
      return path;
    default:
      // /kv/<key>: one label for every key (bounded).
      return path.startsWith('/kv/') ? '/kv' : 'unmatched';
  }
}

export function methodLabel(method: string | undefined): MethodLabel {
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'POST':
    case 'PUT':
    case 'DELETE':
    case 'PATCH':
    case 'OPTIONS':
      return method;
    default:
      return 'OTHER';
  }
}

export { isProbeRoute } from '../../contract/index.js';
