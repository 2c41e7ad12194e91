// A version that starts, announces its port, and is never Ready: /readyz (and everything else)
// answers 503. Used by a rollout step that must hit its progress deadline. Exits on SIGTERM.
import { createServer } from 'node:http';

const server = createServer((req, res) => {
  res.statusCode = 503;
  res.setHeader('connection', 'close');
  res.end('never ready\n');
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ event: 'listening', port: server.address().port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
