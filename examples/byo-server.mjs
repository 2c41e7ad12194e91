// A minimal service that keeps the zero-downtime contract, with no dependency at all:
// readiness false while draining, keep serving while routing converges, Connection: close,
// close the listener without resetting idle keep-alive sockets, exit when in-flight is done.
import { createServer, Server } from 'node:http';
import { Server as NetServer } from 'node:net';

const port = Number(process.env.PORT ?? 8080);
const version = process.env.APP_VERSION ?? 'v1';
const replica = process.env.REPLICA_ID ?? `byo-${process.pid}`;
const drainDelayMs = 1500;
let draining = false;
let inFlight = 0;

const server = createServer((req, res) => {
  inFlight++;
  res.on('finish', () => inFlight--);
  const id = req.headers['x-zerodrop-id'];
  const headers = { 'content-type': 'application/json', 'x-served-by': replica, 'x-version': version };
  if (id) headers['x-zerodrop-id'] = id;
  if (draining) headers.connection = 'close';
  if (req.url === '/live') return res.writeHead(200, headers).end('{"live":true}');
  if (req.url === '/ready') return res.writeHead(draining ? 503 : 200, headers).end(`{"ready":${!draining}}`);
  res.writeHead(200, headers).end(JSON.stringify({ version, replica }));
});
// HOST=0.0.0.0 inside a container (the runtime publishes the port on the host's 127.0.0.1 only).
server.listen(port, process.env.HOST ?? '127.0.0.1');

process.on('SIGTERM', () => {
  draining = true;
  setTimeout(() => {
    // net.Server close only: http.Server#close would also reset idle keep-alive sockets (Node ≥ 19).
    NetServer.prototype.close.call(server);
    const poll = setInterval(() => {
      server.getConnections((_, n) => {
        if (inFlight === 0 && n === 0) process.exit(0);
      });
    }, 50);
    setTimeout(() => process.exit(0), 7000).unref();
    void poll;
  }, drainDelayMs);
});
void Server;
