/**
 * HAProxy's own account of the requests that went wrong, by the id the driver sent.
 *
 * A client that sees a reset learns nothing: no status, no replica, no retry count. HAProxy knows
 * all of it ("503 SC--, 4 tries, last on web-v1-c-14": every try failed, the last one at connect).
 * The data plane logs only abnormal streams (`option dontlog-normal`: errors, 5xx, retried or
 * redispatched requests) in LOG_FORMAT, on stderr with its alerts; the lines tagged LOG_TAG come
 * here, and the failed ones are kept by request id (at most MAX_LOGGED; more are counted).
 * The verifier joins them to the ledger's failed requests (failed-requests.csv, column data_plane).
 * One kind of failure has no line: when a try on a reused server connection fails and retries are
 * off or spent, HAProxy 2.6 may close the client's keep-alive connection without an answer and
 * without logging the request (measured: retries off, a zone crash, 1 reset of 1,650 requests, the
 * other 1,649 logged with dontlog-normal off). A reset with no account through HAProxy is that.
 * Log-format aliases: HAProxy 2.6 doc/configuration.txt §8.2.4.
 */
import type { LoggedRequests } from '../types.js';

/** Prefix of a request-log line on HAProxy's stderr (alerts never start with it). */
export const LOG_TAG = 'zd-request';

/**
 * status, termination state, retries (%rc: "+N" when redispatched), last server, the timers
 * TR/Tw/Tc/Tr/Ta, then the captured request id last (it may hold anything but a newline).
 */
export const LOG_FORMAT = `${LOG_TAG} %ST %tsc %rc %s %TR/%Tw/%Tc/%Tr/%Ta %[capture.req.hdr(0)]`;

/** Failed requests kept by id; a run with more keeps the first ones and counts the rest. */
export const MAX_LOGGED = 10_000;

export interface LoggedRequest {
  id: string;
  /** The status HAProxy logged (what it answered, or tried to: -1 when none). */
  status: number;
  /** Termination state, e.g. "SC--" (server refused the connection), "SH--", "----". */
  termination: string;
  /** Tries the request took, the first one included. */
  tries: number;
  /** The server of the last try, or null (<NOSRV>). */
  server: string | null;
  /** Total time in HAProxy (Ta), ms. */
  totalMs: number;
}

/** One LOG_FORMAT line, or null for anything else. Pure. */
export function parseRequestLogLine(line: string): LoggedRequest | null {
  if (!line.startsWith(`${LOG_TAG} `)) return null;
  const parts = line.split(' ');
  if (parts.length < 7) return null;
  const [, status, termination, rc, server, timers] = parts as [string, string, string, string, string, string];
  const id = parts.slice(6).join(' ');
  if (id === '' || id === '-') return null;
  const retries = Number(rc.replace('+', ''));
  const totalMs = Number(timers.split('/')[4]);
  return {
    id,
    status: Number(status),
    termination,
    tries: Number.isFinite(retries) ? retries + 1 : 1,
    server: server === '<NOSRV>' || server === '-' ? null : server,
    totalMs: Number.isFinite(totalMs) ? totalMs : -1,
  };
}

/** A request the client did not see succeed: an error status, or a stream that ended abnormally. */
export function isFailed(r: LoggedRequest): boolean {
  return r.status >= 500 || r.status < 0 || !r.termination.startsWith('-');
}

/** "haproxy 503 SC-- · 4 tries · last web-v1-c-14 · 10 ms". Pure. */
export function accountOf(r: LoggedRequest): string {
  return [
    `haproxy ${r.status < 0 ? 'no status' : r.status} ${r.termination}`,
    `${r.tries} ${r.tries === 1 ? 'try' : 'tries'}`,
    r.server === null ? 'no server' : `last ${r.server}`,
    `${r.totalMs} ms`,
  ].join(' · ');
}

export class RequestLog {
  private readonly accounts = new Map<string, string>();
  private dropped = 0;

  /** A stderr line: kept when it is a failed request's log line. true when it was a log line. */
  offer(line: string): boolean {
    const r = parseRequestLogLine(line);
    if (r !== null && isFailed(r)) {
      if (this.accounts.size >= MAX_LOGGED && !this.accounts.has(r.id)) this.dropped++;
      else this.accounts.set(r.id, accountOf(r));
    }
    return r !== null || line.startsWith(`${LOG_TAG} `);
  }

  read(): LoggedRequests {
    return { accounts: new Map(this.accounts), dropped: this.dropped };
  }
}
