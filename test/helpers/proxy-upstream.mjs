#!/usr/bin/env node
/**
 * A tiny plain node:http upstream for proxy tests and benchmarks, run as a CHILD PROCESS so tests
 * can SIGKILL / SIGSTOP it for real. Plain .mjs: needs no build.
 *
 *   node test/helpers/proxy-upstream.mjs --id r1 [--port 0] [--host 127.0.0.1] [--flaky] [--bench]
 *
 * Prints one JSON line {"event":"listening","id":...,"port":N,"pid":N} on stdout once listening.
 * Every response echoes x-zerodrop-id and carries x-served-by: <id>, with a Content-Length.
 *   GET  /healthz              200 "ok"
 *   ANY  /slow?ms=N            answers after N ms
 *   GET  /echo-headers         200, JSON body: the raw request headers it received
 *   GET  /hop                  200 chunked, with hop-by-hop headers (and a trailer) the proxy must strip
 *   ANY  /reset                reads the request, then destroys the socket (no response byte)
 *   ANY  /flaky                like /reset when started with --flaky, else a normal answer
 *   GET  /big?bytes=N          N bytes, written in 16 KiB chunks (chunked encoding)
 *   GET  /count                200, JSON {requests} (this process's request count)
 *   ANY  anything else         200 "ok <id>" (POST/PUT: x-body-bytes = bytes received)
 * --bench: only the plain answer, no routing (the cheapest possible replica).
 */
import http from 'node:http';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const flag = (name) => args.includes(`--${name}`);

const id = opt('id', `up-${process.pid}`);
const host = opt('host', '127.0.0.1');
const port = Number(opt('port', '0'));
const flaky = flag('flaky');
const bench = flag('bench');
let requests = 0;

function answer(req, res, status, body, extra) {
  const headers = {
    'content-type': 'text/plain',
    'content-length': Buffer.byteLength(body),
    'x-served-by': id,
  };
  const zid = req.headers['x-zerodrop-id'];
  if (zid !== undefined) headers['x-zerodrop-id'] = zid;
  if (extra) Object.assign(headers, extra);
  res.writeHead(status, headers);
  res.end(body);
}

const plainBody = `ok ${id}\n`;

const server = http.createServer(
  bench
    ? (req, res) => {
        requests++;
        const zid = req.headers['x-zerodrop-id'];
        res.writeHead(
          200,
          zid === undefined
            ? { 'content-type': 'text/plain', 'content-length': plainBody.length, 'x-served-by': id }
            : { 'content-type': 'text/plain', 'content-length': plainBody.length, 'x-served-by': id, 'x-zerodrop-id': zid },
        );
        res.end(plainBody);
        req.resume();
      }
    : (req, res) => {
        requests++;
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => route(req, res, Buffer.concat(chunks)));
      },
);

function route(req, res, body) {
  const url = new URL(req.url ?? '/', 'http://x');
  switch (url.pathname) {
    case '/healthz':
      return answer(req, res, 200, 'ok\n');
    case '/slow': {
      const ms = Number(url.searchParams.get('ms') ?? '100');
      setTimeout(() => answer(req, res, 200, plainBody, { 'x-body-bytes': String(body.length) }), ms);
      return;
    }
    case '/echo-headers':
      return answer(req, res, 200, JSON.stringify(req.rawHeaders), { 'content-type': 'application/json' });
    case '/hop': {
      // chunked (no Content-Length), so that a Trailer header and a trailer are allowed
      const headers = {
        'content-type': 'text/plain',
        'x-served-by': id,
        connection: 'keep-alive, x-hop-listed',
        'x-hop-listed': 'must-not-pass',
        'keep-alive': 'timeout=5',
        'proxy-authenticate': 'Basic realm="x"',
        trailer: 'x-some-trailer',
        upgrade: 'h2c',
        'x-end-to-end': 'passes',
      };
      res.writeHead(200, headers);
      res.write(plainBody);
      res.addTrailers({ 'x-some-trailer': 'dropped' });
      res.end();
      return;
    }
    case '/reset':
      req.socket.destroy();
      return;
    case '/flaky':
      if (flaky) {
        req.socket.destroy();
        return;
      }
      return answer(req, res, 200, plainBody, { 'x-body-bytes': String(body.length) });
    case '/big': {
      const n = Number(url.searchParams.get('bytes') ?? '1000000');
      const headers = { 'content-type': 'application/octet-stream', 'x-served-by': id };
      const zid = req.headers['x-zerodrop-id'];
      if (zid !== undefined) headers['x-zerodrop-id'] = zid;
      res.writeHead(200, headers);
      const chunk = Buffer.alloc(16 * 1024, 0x61);
      let left = n;
      const pump = () => {
        while (left > 0) {
          const c = left >= chunk.length ? chunk : chunk.subarray(0, left);
          left -= c.length;
          if (!res.write(c)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
      return;
    }
    case '/count':
      return answer(req, res, 200, JSON.stringify({ requests }), { 'content-type': 'application/json' });
    default:
      return answer(req, res, 200, plainBody, { 'x-body-bytes': String(body.length) });
  }
}

server.listen({ host, port }, () => {
  const addr = server.address();
  process.stdout.write(`${JSON.stringify({ event: 'listening', id, port: addr.port, pid: process.pid })}\n`);
});

const stop = () => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Tests start it with stdin piped: when the test process dies, stdin closes and we exit.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
