/**
 * Reads a replica's served-traffic count from its Prometheus endpoint: the sum of
 * http_requests_total over traffic routes (probe and metrics routes excluded). The sample-app
 * defines that convention and its parser; any service that follows it gets exact per-replica
 * reconciliation, others are reconciled from the proxy's side only.
 */
import { request } from 'node:http';
import { FINAL_READ_HEADER, parseExposition, sumTrafficResponses } from '../../contract/index.js';
import type { HostPort } from './runtime/types.js';
import { requestDeadline } from '../../common/src/http-deadline.js';

const SCRAPE_TIMEOUT_MS = 1000;

/** Marks the last read of a drained replica: the sample-app may exit once it has answered it. */
export { FINAL_READ_HEADER };

export function readTrafficResponses(target: HostPort, path: string, final = false): Promise<number | null> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { accept: 'text/plain' };
    if (final) headers[FINAL_READ_HEADER] = '1';
    const req = request({ host: target.host, port: target.port, path, method: 'GET', agent: false, headers }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        resolve(null);
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(sumTrafficResponses(parseExposition(Buffer.concat(chunks).toString('utf8'))));
        } catch {
          resolve(null);
        }
      });
      res.on('error', () => resolve(null));
    });
    requestDeadline(req, SCRAPE_TIMEOUT_MS);
    req.on('error', () => resolve(null));
    req.end();
  });
}
