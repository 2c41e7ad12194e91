/**
 * The proxy's pure rules as tables: hop-by-hop headers, idempotency, what a failure means for a
 * retry, config validation (loopback only).
 */
import { describe, expect, it } from 'vitest';
import { ZerodropError } from '../../../common/src/errors.js';
import { isLoopbackAddress, proxyConfig, validateProxyConfig } from '../../src/proxy/config.js';
import {
  HDR_CONNECTION,
  HDR_CONTENT_LENGTH,
  HDR_DROP,
  HDR_EXPECT,
  HDR_FORWARD,
  HDR_HOST,
  HDR_TRANSFER_ENCODING,
  HDR_UPGRADE,
  classifyUpstreamError,
  connectionTokens,
  dropNamed,
  headerKind,
  isIdempotent,
  mayRetry,
} from '../../src/proxy/http-semantics.js';

const err = (code: string): Error => Object.assign(new Error(code), { code });

describe('headerKind (RFC 9110 §7.6.1 hop-by-hop)', () => {
  it.each([
    ['Connection', HDR_CONNECTION],
    ['connection', HDR_CONNECTION],
    ['Keep-Alive', HDR_DROP],
    ['TE', HDR_DROP],
    ['te', HDR_DROP],
    ['Trailer', HDR_DROP],
    ['Transfer-Encoding', HDR_TRANSFER_ENCODING],
    ['Upgrade', HDR_UPGRADE],
    ['Proxy-Authorization', HDR_DROP],
    ['proxy-connection', HDR_DROP],
    ['Proxy-Authenticate', HDR_DROP],
    ['Host', HDR_HOST],
    ['Content-Length', HDR_CONTENT_LENGTH],
    ['Expect', HDR_EXPECT],
    // end-to-end headers pass, including look-alikes
    ['x-zerodrop-id', HDR_FORWARD],
    ['Accept', HDR_FORWARD],
    ['User-Agent', HDR_FORWARD],
    ['Content-Type', HDR_FORWARD],
    ['ta', HDR_FORWARD],
    ['hosts', HDR_FORWARD],
    ['proxy', HDR_FORWARD],
    ['proxyfoo-bar', HDR_FORWARD],
    ['x-proxy-thing', HDR_FORWARD],
    ['Connections', HDR_FORWARD],
    ['Transfer-Encodinx', HDR_FORWARD],
    // any case, compared without lower-casing
    ['HOST', HDR_HOST],
    ['hOsT', HDR_HOST],
    ['KEEP-ALIVE', HDR_DROP],
    ['CONTENT-LENGTH', HDR_CONTENT_LENGTH],
    ['tRaIlEr', HDR_DROP],
    ['UPGRADE', HDR_UPGRADE],
    ['EXPECT', HDR_EXPECT],
    ['PROXY-X', HDR_DROP],
    ['proxy-auth', HDR_DROP],
    ['Exp3ct', HDR_FORWARD],
    ['Content-Lengtx', HDR_FORWARD],
    ['kee-palive', HDR_FORWARD],
  ] as const)('%s → %i', (name, kind) => {
    expect(headerKind(name)).toBe(kind);
  });
});

describe('Connection header tokens', () => {
  it('ignores close / keep-alive / upgrade, lower-cases the rest', () => {
    expect(connectionTokens('keep-alive')).toBeNull();
    expect(connectionTokens('close')).toBeNull();
    expect(connectionTokens('Upgrade, Keep-Alive')).toBeNull();
    expect(connectionTokens('close, X-Foo ,x-bar')).toEqual(['x-foo', 'x-bar']);
  });
  it('dropNamed removes the named headers, any case', () => {
    expect(dropNamed(['X-Foo', '1', 'accept', '*/*', 'x-bar', '2'], ['x-foo', 'x-bar'])).toEqual(['accept', '*/*']);
  });
});

describe('idempotent methods (RFC 9110 §9.2.2)', () => {
  it.each(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'])('%s is idempotent', (m) => expect(isIdempotent(m)).toBe(true));
  it.each(['POST', 'PATCH', 'CONNECT', 'get', 'PROPFIND'])('%s is not', (m) => expect(isIdempotent(m)).toBe(false));
});

describe('classifyUpstreamError', () => {
  it.each([
    ['ECONNREFUSED', true, 'connect_error'],
    ['ECONNREFUSED', false, 'connect_error'],
    ['UND_ERR_CONNECT_TIMEOUT', false, 'connect_error'],
    ['EHOSTUNREACH', false, 'connect_error'],
    // never written on a socket: the replica cannot have seen it, whatever the code
    ['UND_ERR_DESTROYED', false, 'connect_error'],
    ['ECONNRESET', false, 'connect_error'],
    // written (or partly): a reset
    ['UND_ERR_SOCKET', true, 'reset'],
    ['ECONNRESET', true, 'reset'],
    ['EPIPE', true, 'reset'],
    ['UND_ERR_DESTROYED', true, 'reset'],
    ['UND_ERR_HEADERS_TIMEOUT', true, 'timeout'],
    ['UND_ERR_INVALID_ARG', false, 'other_error'],
    ['HPE_INVALID_CONSTANT', true, 'other_error'],
    // the raw client's codes (raw-upstream.ts RAW_ERR)
    ['ZD_CONNECT_TIMEOUT', false, 'connect_error'],
    ['ZD_UPSTREAM_DESTROYED', false, 'connect_error'],
    ['ZD_UPSTREAM_DESTROYED', true, 'reset'],
    ['ZD_UPSTREAM_CLOSED', true, 'reset'],
    ['ZD_BODY_TIMEOUT', true, 'timeout'],
    ['ZD_BAD_UPSTREAM_RESPONSE', true, 'other_error'],
  ] as const)('%s (sent=%s) → %s', (code, sent, outcome) => {
    expect(classifyUpstreamError(err(code), sent)).toBe(outcome);
  });
});

describe('mayRetry', () => {
  it('connect failures: any method', () => {
    expect(mayRetry('connect_error', false, false)).toBe(true);
    expect(mayRetry('connect_error', true, false)).toBe(true);
  });
  it('reset / timeout after sending: idempotent only (a proxy MUST NOT replay a POST)', () => {
    expect(mayRetry('reset', true, true)).toBe(true);
    expect(mayRetry('reset', true, false)).toBe(false);
    expect(mayRetry('timeout', true, true)).toBe(true);
    expect(mayRetry('timeout', true, false)).toBe(false);
  });
  it('a timeout before the request was even written (queued in the pool) is safe for any method', () => {
    expect(mayRetry('timeout', false, false)).toBe(true);
  });
  it('never after an answer or an unknown error', () => {
    expect(mayRetry('response', false, true)).toBe(false);
    expect(mayRetry('other_error', true, true)).toBe(false);
  });
});

describe('config', () => {
  it('loopback literals only', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1']) expect(isLoopbackAddress(h)).toBe(true);
    for (const h of ['0.0.0.0', '10.0.0.1', '::', 'localhost', '192.168.1.1', '', 'example.com']) expect(isLoopbackAddress(h)).toBe(false);
  });
  it('rejects a non-loopback host with ZD_BAD_SPEC naming the field and the fix', () => {
    const run = (): unknown => validateProxyConfig(proxyConfig('r', { host: '0.0.0.0' }));
    expect(run).toThrow(ZerodropError);
    try {
      run();
    } catch (e) {
      const z = e as ZerodropError;
      expect(z.code).toBe('ZD_BAD_SPEC');
      expect(z.message).toContain('host');
      expect(z.message).toContain('0.0.0.0');
      expect(z.fix).toContain('127.0.0.1');
      expect(z.exitCode).toBe(2);
    }
  });
  it.each([
    [{ retries: { maxAttempts: 0 } }, 'retries.maxAttempts'],
    [{ retries: { perTryTimeoutMs: -1 } }, 'retries.perTryTimeoutMs'],
    [{ healthCheck: { path: 'healthz' } }, 'healthCheck.path'],
    [{ upstream: { connectionsPerReplica: 0 } }, 'upstream.connectionsPerReplica'],
    [{ port: 70000 }, 'port'],
    [{ metricsPort: -1 }, 'metricsPort'],
    [{ upstream: { client: 'http2' } }, 'upstream.client'],
    // the raw client never pipelines: asking it to is refused, not ignored
    [{ upstream: { pipelining: 8 } }, 'upstream.pipelining'],
    [{ upstream: { client: 'raw', pipelining: 2 } }, 'upstream.pipelining'],
  ] as const)('rejects %j (%s)', (overrides, field) => {
    expect(() => validateProxyConfig(proxyConfig('r', overrides as never))).toThrow(field);
  });
  it('upstream client: raw by default; undici may pipeline', () => {
    expect(proxyConfig('r').upstream.client).toBe('raw');
    const c = proxyConfig('r', { upstream: { client: 'undici', pipelining: 8 } });
    expect(validateProxyConfig(c).upstream).toMatchObject({ client: 'undici', pipelining: 8 });
  });
  it('proxyConfig merges nested sections over the defaults', () => {
    const c = proxyConfig('r', { retries: { perTryTimeoutMs: 300 }, metricsPort: 0 });
    expect(c.retries.perTryTimeoutMs).toBe(300);
    expect(c.retries.maxAttempts).toBe(3);
    expect(c.metricsPort).toBe(0);
    expect(validateProxyConfig(c)).toBe(c);
  });
});
