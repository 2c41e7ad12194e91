// A small node:http target for the load-driver tests and scripts/driver-bench.ts, run as a child
// process (so it can be SIGKILLed, and so it does not share an event loop with the driver).
//
//   node driver-target-server.mjs [--mode plain|close|swap|stall|chunked|slow|mixed] [--delay-ms N]
//                                 [--served-by NAME] [--port N] [--record]
//
// Prints "LISTENING <port>" once bound to 127.0.0.1. Every mode but swap echoes x-zerodrop-id.
//   plain    200 "ok"                        close    + Connection: close (node closes after it)
//   swap     echoes the PREVIOUS request's id stall    never answers (holds the request)
//   chunked  Transfer-Encoding: chunked, 3 chunks and a trailer
//   slow     answers after --delay-ms        mixed    every 5th: 503 from "the proxy"
//            (x-zerodrop-upstream, no x-served-by); every 7th: x-zerodrop-attempts: 2
// GET /__stats returns {received, loopDelayMaxMs, loopDelayP99Ms, ...}; with --record also
// {distinctIds, duplicateIds, firstMs, counts100ms} (arrivals per 100 ms since the first one, on
// CLOCK_MONOTONIC). /__stats itself is not counted.
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const mode = opt('mode', 'plain');
const delayMs = Number(opt('delay-ms', '0'));
const servedBy = opt('served-by', 'r1');
const port = Number(opt('port', '0'));
const record = args.includes('--record');
// event-loop delay of the target itself (is a slow response the target's fault?)
const eld = monitorEventLoopDelay({ resolution: 1 });
eld.enable();

let received = 0;
let firstMs = -1;
const counts = [];
const ids = record ? new Set() : null;
let duplicates = 0;
let prevId = 'none-0';
const held = [];

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

const server = http.createServer((req, res) => {
  if (req.url === '/__stats') {
    const body = JSON.stringify({
      received,
      distinctIds: ids ? ids.size : null,
      duplicateIds: duplicates,
      firstMs,
      counts100ms: counts,
      loopDelayMaxMs: eld.max / 1e6,
      loopDelayP99Ms: eld.percentile(99) / 1e6,
    });
    if (req.url === '/__stats' && req.headers['x-reset-eld'] === '1') eld.reset();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  received++;
  // wrk & co. send no id: answer them the same way, without the echo
  const id = req.headers['x-zerodrop-id'] ?? 'none';
  if (record) {
    const t = nowMs();
    if (firstMs < 0) firstMs = t;
    const b = Math.floor((t - firstMs) / 100);
    while (counts.length <= b) counts.push(0);
    counts[b]++;
    if (ids.has(id)) duplicates++;
    else ids.add(id);
  }
  req.resume();
  const answer = () => {
    switch (mode) {
      case 'stall':
        held.push(res);
        return;
      case 'swap': {
        const other = prevId;
        prevId = id;
        res.setHeader('x-served-by', servedBy);
        res.setHeader('x-zerodrop-id', other);
        res.end('ok');
        return;
      }
      case 'chunked':
        res.setHeader('x-served-by', servedBy);
        res.setHeader('x-zerodrop-id', id);
        res.setHeader('trailer', 'x-checksum');
        res.write('a');
        res.write('bb');
        res.addTrailers({ 'x-checksum': '3' });
        res.end('ccc');
        return;
      case 'mixed':
        if (received % 5 === 0) {
          res.writeHead(503, { 'x-zerodrop-upstream': 'r9', 'x-zerodrop-error': 'reset', 'x-zerodrop-id': id });
          res.end('no');
          return;
        }
        if (received % 7 === 0) res.setHeader('x-zerodrop-attempts', '2');
        res.setHeader('x-served-by', servedBy);
        res.setHeader('x-zerodrop-id', id);
        res.end('ok');
        return;
      default:
        res.setHeader('x-served-by', servedBy);
        res.setHeader('x-zerodrop-id', id);
        if (mode === 'close') res.setHeader('connection', 'close');
        res.end('ok');
    }
  };
  if (mode === 'slow' && delayMs > 0) setTimeout(answer, delayMs);
  else answer();
});
server.keepAliveTimeout = 5000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});
process.on('SIGTERM', () => {
  for (const r of held) r.destroy();
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
// Never outlive the test run that started us.
process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(0), Number(opt('max-life-ms', '300000'))).unref();
