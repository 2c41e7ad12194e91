/**
 * `zerodrop ctl`: drive a running `zerodrop up` from another terminal through its admin API.
 */
import { ExitCode, ZerodropError } from '../../../common/src/errors.js';
import { get as httpGet } from 'node:http';
import type { ParsedCli } from './args.js';

export async function runCtl(cli: ParsedCli): Promise<number> {
  const admin = cli.admin ?? process.env['ZERODROP_ADMIN'];
  if (!admin || !/^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+\/?$/.test(admin)) {
    throw new ZerodropError('ZD_BAD_USAGE', 'zerodrop ctl needs the admin URL of a running `zerodrop up` (loopback only)', {
      fix: 'pass --admin http://127.0.0.1:<port> (printed by zerodrop up) or set ZERODROP_ADMIN',
    });
  }
  const base = admin.replace(/\/$/, '');
  const [action, arg] = cli.positionals;
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<number> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    process.stdout.write(`${text}\n`);
    return res.ok ? ExitCode.Pass : res.status === 400 ? ExitCode.BadUsage : ExitCode.Inconclusive;
  };
  switch (action) {
    case 'status':
      return call('GET', '/status');
    case 'rollout':
      if (!arg) throw new ZerodropError('ZD_BAD_USAGE', 'rollout needs a version', { fix: 'zerodrop ctl rollout v2' });
      return call('POST', '/rollout', cli.image ? { version: arg, image: cli.image } : { version: arg });
    case 'events':
      return streamEvents(base);
    case 'rollback':
      return call('POST', '/rollback', arg ? { toRevision: Number(arg) } : {});
    case 'scale':
      if (!arg || !/^\d+$/.test(arg)) throw new ZerodropError('ZD_BAD_USAGE', 'scale needs a replica count', { fix: 'zerodrop ctl scale 8' });
      return call('POST', '/scale', { replicas: Number(arg) });
    case 'fail-zone':
      if (!arg) throw new ZerodropError('ZD_BAD_USAGE', 'fail-zone needs a zone', { fix: 'zerodrop ctl fail-zone b [--mode hang]' });
      return call('POST', `/zones/${encodeURIComponent(arg)}/fail`, { mode: cli.mode ?? 'crash' });
    case 'recover-zone':
      if (!arg) throw new ZerodropError('ZD_BAD_USAGE', 'recover-zone needs a zone', { fix: 'zerodrop ctl recover-zone b' });
      return call('POST', `/zones/${encodeURIComponent(arg)}/recover`);
    default:
      throw new ZerodropError('ZD_BAD_USAGE', `unknown ctl action "${action ?? ''}"`, {
        fix: 'one of: status, events, rollout <version> [--image I], rollback [revision], scale <n>, fail-zone <zone> [--mode hang], recover-zone <zone>',
      });
  }
}

/**
 * Prints the timeline (history, then live), one JSON event per line, until the cluster stops
 * (exit 0) or the stream breaks (exit 3). node:http, not fetch: no body timeout on a stream that
 * may be quiet for long (the server also sends a comment every 15 s).
 */
function streamEvents(base: string): Promise<number> {
  return new Promise((resolve) => {
    const req = httpGet(`${base}/events`, { agent: false }, (res) => {
      if (res.statusCode !== 200) {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          process.stdout.write(`${text}\n`);
          resolve(res.statusCode === 400 ? ExitCode.BadUsage : ExitCode.Inconclusive);
        });
        return;
      }
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const frame = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          for (const line of frame.split('\n')) if (line.startsWith('data: ')) process.stdout.write(`${line.slice(6)}\n`);
        }
      });
      res.on('end', () => resolve(ExitCode.Pass)); // the cluster stopped: the stream is over
      res.on('error', () => resolve(ExitCode.Inconclusive));
    });
    req.on('error', (err) => {
      process.stderr.write(`zerodrop ctl events: ${err.message}\n`);
      resolve(ExitCode.Inconclusive);
    });
  });
}
