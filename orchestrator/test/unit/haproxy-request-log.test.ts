import { describe, expect, it } from 'vitest';
import { LOG_TAG, MAX_LOGGED, RequestLog, accountOf, isFailed, parseRequestLogLine } from '../../src/proxy/haproxy/request-log.js';

// Lines as HAProxy 2.6.12 writes them in LOG_FORMAT (status, %tsc, %rc, server, timers, id).
const REFUSED = `${LOG_TAG} 503 SC-- +3 web-v1-c-14 0/10/0/-1/10 run-1-50384`;
const SAVED = `${LOG_TAG} 200 ---- +1 web-v1-a-16 0/2/0/3/5 run-1-50392`;
const NO_SERVER = `${LOG_TAG} 503 SQ-- 0 <NOSRV> 0/3000/-1/-1/3000 run-1-7`;

describe('HAProxy request log', () => {
  it('parses a line: status, termination, tries (retries + 1, "+" when redispatched), last server, total time, id', () => {
    expect(parseRequestLogLine(REFUSED)).toEqual({ id: 'run-1-50384', status: 503, termination: 'SC--', tries: 4, server: 'web-v1-c-14', totalMs: 10 });
    expect(parseRequestLogLine(NO_SERVER)).toMatchObject({ server: null, tries: 1, termination: 'SQ--' });
    // An id with spaces is everything after the timers.
    expect(parseRequestLogLine(`${LOG_TAG} 502 SH-- 0 r1 0/0/0/-1/1 my id 1`)?.id).toBe('my id 1');
  });

  it('is not fooled by alerts, lines without an id, or truncated lines', () => {
    expect(parseRequestLogLine('[WARNING]  (1) : Server replicas/web-v1-b-2 is DOWN')).toBeNull();
    expect(parseRequestLogLine(`${LOG_TAG} 503 SC-- +3 web-v1-c-14 0/10/0/-1/10 -`)).toBeNull();
    expect(parseRequestLogLine(`${LOG_TAG} 503 SC--`)).toBeNull();
  });

  it('keeps failed requests only (5xx or an abnormal termination), with a one-line account', () => {
    expect(isFailed(parseRequestLogLine(REFUSED)!)).toBe(true);
    expect(isFailed(parseRequestLogLine(SAVED)!)).toBe(false);
    expect(isFailed(parseRequestLogLine(`${LOG_TAG} 200 SD-- 0 a 0/0/0/1/5 x`)!)).toBe(true);
    expect(accountOf(parseRequestLogLine(REFUSED)!)).toBe('haproxy 503 SC-- · 4 tries · last web-v1-c-14 · 10 ms');
    expect(accountOf(parseRequestLogLine(NO_SERVER)!)).toBe('haproxy 503 SQ-- · 1 try · no server · 3000 ms');
    const log = new RequestLog();
    expect(log.offer(REFUSED)).toBe(true);
    expect(log.offer(SAVED)).toBe(true);
    expect(log.offer('[NOTICE] something')).toBe(false);
    expect(log.read()).toEqual({ accounts: new Map([['run-1-50384', 'haproxy 503 SC-- · 4 tries · last web-v1-c-14 · 10 ms']]), dropped: 0 });
  });

  it(`keeps at most ${MAX_LOGGED} and counts the rest; an id such as __proto__ is only a key`, () => {
    const log = new RequestLog();
    for (let i = 0; i < MAX_LOGGED + 5; i++) log.offer(`${LOG_TAG} 502 SH-- 0 a 0/0/0/-1/1 id-${i}`);
    log.offer(`${LOG_TAG} 502 SH-- 0 a 0/0/0/-1/1 __proto__`);
    const read = log.read();
    expect(read.accounts.size).toBe(MAX_LOGGED);
    expect(read.dropped).toBe(6);
    const small = new RequestLog();
    small.offer(`${LOG_TAG} 502 SH-- 0 a 0/0/0/-1/1 __proto__`);
    expect(small.read().accounts.has('__proto__')).toBe(true);
  });
});
