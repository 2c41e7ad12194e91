/**
 * One loopback HTTP server for the metrics that live in the harness process (orchestrator,
 * driver): GET /metrics/<component>. Prometheus scrapes each path as its own job.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface MetricsServer {
  readonly url: string;
  readonly port: number;
  add(component: string, render: () => Promise<string>): void;
  close(): Promise<void>;
}

export async function startMetricsServer(port = 0): Promise<MetricsServer> {
  const components = new Map<string, () => Promise<string>>();
  const server: Server = createServer((req, res) => {
    const match = /^\/metrics\/([a-z-]+)$/.exec(req.url ?? '');
    const render = match ? components.get(match[1] ?? '') : undefined;
    if (!render) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`known: ${[...components.keys()].map((c) => `/metrics/${c}`).join(' ')}\n`);
      return;
    }
    render().then(
      (text) => {
        res.writeHead(200, { 'content-type': CONTENT_TYPE });
        res.end(text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      },
    );
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    add: (component, render) => void components.set(component, render),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
