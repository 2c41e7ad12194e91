/**
 * The proxy's listeners: binding one (a coded error naming the port if it cannot), its URL, and
 * the side listener that serves the proxy's Prometheus registry on /metrics.
 */
import http from 'node:http';
import type { Registry } from 'prom-client';
import { ZerodropError, errorMessage } from '../../../common/src/errors.js';

/** A server answering GET /metrics from `registry` (404 for anything else). */
export function metricsServer(registry: Registry): http.Server {
  return http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && !req.url?.startsWith('/metrics?'))) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${errorMessage(err)}\n`),
    );
  });
}

export function listenOn(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(
        new ZerodropError('ZD_PROXY_FAILED', `the proxy could not listen on ${host}:${port}: ${err.message}`, {
          cause: err,
          fix: port === 0 ? 'check that loopback networking works' : `free port ${port} or use port 0`,
        }),
      );
    };
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

export function addressPort(server: http.Server): number {
  const a = server.address();
  if (a === null || typeof a === 'string') throw new ZerodropError('ZD_INTERNAL', 'proxy listener has no TCP address');
  return a.port;
}

export function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
