/**
 * The bench's floor for a replica (issue 12, item 2): the least a node:http server can do to
 * answer `GET /` as sample-app does — the same body bytes, the same headers (content-type,
 * content-length, x-served-by, x-version, the request's x-zerodrop-id echoed) — and nothing
 * else: no metrics, no routing, no drain. sample-app's CPU per request is reported as a ratio
 * to this one's, measured the same way in the same bench.
 *
 *   node dist/scripts/bench/plain-http.js [--port N] --replica ID --version V --zone Z
 *
 * Prints sample-app's announcement line ({"event":"listening","port":N,...}) once bound on an
 * 127.0.0.1 port (ephemeral by default); exits on SIGTERM/SIGINT or when its parent dies (the bench spawns it
 * under pdeathsig).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { ID_HEADER, SERVED_BY_HEADER, VERSION_HEADER } from '../../contract/index.js';

const { values } = parseArgs({ options: { port: { type: 'string' }, replica: { type: 'string' }, version: { type: 'string' }, zone: { type: 'string' } } });
const replica = values.replica ?? 'plain';
const version = values.version ?? 'v1';
const zone = values.zone ?? 'a';
const body = Buffer.from(JSON.stringify({ version, replica, zone }));
const headers = ['content-type', 'application/json; charset=utf-8', 'content-length', String(body.length), SERVED_BY_HEADER, replica, VERSION_HEADER, version];

const server = http.createServer((req, res) => {
  const raw = req.rawHeaders;
  let out = headers;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === ID_HEADER) {
      out = headers.concat(ID_HEADER, raw[i + 1]!);
      break;
    }
  }
  res.writeHead(200, out);
  res.end(body);
});
server.listen({ port: Number(values.port ?? 0), host: '127.0.0.1' }, () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ event: 'listening', port, adminPort: null, pid: process.pid, replica, version, zone })}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));
