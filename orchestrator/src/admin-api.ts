/**
 * The loopback admin API: drive a running cluster from another terminal
 * (`zerodrop up` leaves one running for any external load tool).
 *
 *   GET  /status                 Deployment-like status, replicas, zones
 *   GET  /events                 the timeline as server-sent events (history, then live)
 *   GET  /proxy                  the data plane's counters
 *   GET  /metrics                the orchestrator's Prometheus metrics
 *   POST /rollout   {"version":"v2","env":{...},"image":"myapp:v2","command":[...]}  (all but version optional)
 *   POST /rollback  {"toRevision":1}         (optional body)
 *   POST /scale     {"replicas":8}
 *   POST /zones/<zone>/fail     {"mode":"crash"|"hang"}
 *   POST /zones/<zone>/recover
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ZerodropError, errorMessage, isZerodropError } from '../../common/src/errors.js';
import type { DeploymentController } from './controller.js';
import type { OrchestratorMetrics } from './metrics.js';
import type { ProxyControl } from './proxy/types.js';
import type { PodTemplate } from './spec.js';
import type { TimelineEvent } from './timeline.js';

const MAX_BODY = 64 * 1024;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Listening on loopback does not stop a web page the operator has open from reaching it: a
 * cross-site POST (CSRF) carries an Origin header, and a DNS-rebound name carries its own Host.
 * Only loopback Host values are served, and nothing a browser sends on a page's behalf.
 */
export function refusal(req: Pick<IncomingMessage, 'headers'>, port: number): { error: string; fix: string } | null {
  const host = req.headers.host ?? '';
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : (host.split(':')[0] ?? '');
  const hostPort = host.slice(name.length + 1);
  if (!LOOPBACK_HOSTS.has(name.toLowerCase()) || (hostPort !== '' && hostPort !== String(port))) {
    return {
      error: `Host ${JSON.stringify(host)} is not this loopback admin API`,
      fix: `send requests to http://127.0.0.1:${port} (zerodrop ctl --admin http://127.0.0.1:${port})`,
    };
  }
  if (req.headers.origin !== undefined || req.headers['sec-fetch-site'] !== undefined) {
    return { error: 'requests from web browsers are refused', fix: 'drive the cluster with zerodrop ctl, curl or another non-browser client' };
  }
  return null;
}

export interface AdminApi {
  url: string;
  close(): Promise<void>;
}

export async function startAdminApi(controller: DeploymentController, proxy: ProxyControl, metrics: OrchestratorMetrics, port = 0): Promise<AdminApi> {
  const streams = new Set<ServerResponse>();
  let boundPort = port;
  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => sendError(res, err));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refused = refusal(req, boundPort);
    if (refused !== null) return send(res, 403, refused);
    const url = new URL(req.url ?? '/', 'http://admin');
    const method = req.method ?? 'GET';
    const path = url.pathname;
    if (method === 'GET' && path === '/status') return send(res, 200, controller.view());
    if (method === 'GET' && path === '/proxy') return send(res, 200, await proxy.stats());
    if (method === 'GET' && path === '/metrics') {
      res.writeHead(200, { 'content-type': metrics.contentType });
      res.end(await metrics.metrics());
      return;
    }
    if (method === 'GET' && path === '/events') return streamEvents(res);
    if (method === 'POST' && path === '/rollout') {
      const body = await readJson(req);
      const version = body['version'];
      if (typeof version !== 'string' || version.length === 0) {
        throw new ZerodropError('ZD_BAD_USAGE', 'body.version is required', { fix: 'POST {"version":"v2"}' });
      }
      const patch: Partial<PodTemplate> = { version };
      const env = body['env'];
      if (env !== undefined) {
        if (typeof env !== 'object' || env === null || Object.values(env).some((v) => typeof v !== 'string')) {
          throw new ZerodropError('ZD_BAD_USAGE', 'body.env must be an object of strings', { fix: 'POST {"version":"v2","env":{"FEATURE":"on"}}' });
        }
        patch.env = { ...controller.deploymentSpec.template.env, ...(env as Record<string, string>) };
      }
      const image = body['image'];
      if (image !== undefined) {
        if (typeof image !== 'string' || image.length === 0)
          throw new ZerodropError('ZD_BAD_USAGE', 'body.image must be an image reference', { fix: 'POST {"version":"v2","image":"myapp:v2"}' });
        if (controller.deploymentSpec.template.image === null) {
          throw new ZerodropError('ZD_BAD_USAGE', 'body.image needs a deployment of images (runtime docker, target.image)', {
            fix: 'roll out a command target with body.command, or run the scenario with target.image',
          });
        }
        patch.image = image;
      }
      const command = body['command'];
      if (command !== undefined) {
        if (!Array.isArray(command) || command.length === 0 || command.some((c) => typeof c !== 'string')) {
          throw new ZerodropError('ZD_BAD_USAGE', 'body.command must be a non-empty array of strings', {
            fix: 'POST {"version":"v2","command":["node","server.js"]}',
          });
        }
        patch.command = command as string[];
      }
      const handle = controller.rolloutTo(patch);
      return send(res, 202, { revision: handle.revision, version: handle.version });
    }
    if (method === 'POST' && path === '/rollback') {
      const body = await readJson(req);
      const to = body['toRevision'];
      const handle = controller.rollback(typeof to === 'number' ? to : undefined);
      return send(res, 202, { revision: handle.revision, version: handle.version });
    }
    if (method === 'POST' && path === '/scale') {
      const body = await readJson(req);
      const replicas = body['replicas'];
      if (typeof replicas !== 'number') throw new ZerodropError('ZD_BAD_USAGE', 'body.replicas must be a number', { fix: 'POST {"replicas":8}' });
      controller.scale(replicas);
      return send(res, 202, { replicas });
    }
    const zone = /^\/zones\/([^/]+)\/(fail|recover)$/.exec(path);
    if (method === 'POST' && zone) {
      const [, name = '', op] = zone;
      if (op === 'fail') {
        const body = await readJson(req);
        const mode = body['mode'] ?? 'crash';
        if (mode !== 'crash' && mode !== 'hang') {
          throw new ZerodropError('ZD_BAD_USAGE', `mode must be "crash" or "hang", got ${JSON.stringify(mode)}`, { fix: 'POST {"mode":"crash"}' });
        }
        await controller.failZone(decodeURIComponent(name), mode);
      } else {
        await controller.recoverZone(decodeURIComponent(name));
      }
      return send(res, 202, { zone: name, op });
    }
    send(res, 404, {
      error: `no route ${method} ${path}`,
      fix: 'GET /status, /events, /proxy, /metrics; POST /rollout, /rollback, /scale, /zones/<zone>/fail, /zones/<zone>/recover',
    });
  }

  function streamEvents(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    for (const e of controller.timeline) res.write(sse(e));
    streams.add(res);
    res.on('close', () => streams.delete(res));
  }

  const onEvent = (e: TimelineEvent): void => {
    for (const res of streams) res.write(sse(e));
  };
  controller.on('event', onEvent);
  // An SSE comment every 15 s: idle streams stay open through clients' and proxies' idle timeouts.
  const heartbeat = setInterval(() => {
    for (const res of streams) res.write(': ping\n\n');
  }, 15_000);
  heartbeat.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  boundPort = address.port;
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: async () => {
      clearInterval(heartbeat);
      controller.off('event', onEvent);
      for (const res of streams) res.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function sse(e: TimelineEvent): string {
  return `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (isZerodropError(err)) {
    const status = err.exitCode === 2 ? 400 : 500;
    send(res, status, { error: err.message, code: err.code, fix: err.fix ?? null });
  } else {
    send(res, 500, { error: errorMessage(err) });
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new ZerodropError('ZD_BAD_USAGE', 'request body too large', { fix: `keep it under ${MAX_BODY} bytes` });
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch {
    throw new ZerodropError('ZD_BAD_USAGE', 'the body is not a JSON object', { fix: 'send e.g. {"version":"v2"} with content-type application/json' });
  }
}
