import { describe, expect, it } from 'vitest';
import { refusal } from '../../src/admin-api.js';

describe('admin API: who may drive the cluster', () => {
  it.each([
    [{ host: '127.0.0.1:7070' }, null],
    [{ host: 'localhost:7070' }, null],
    [{ host: '[::1]:7070' }, null],
    [{ host: '127.0.0.1' }, null],
    [{ host: 'LOCALHOST:7070' }, null],
    [{ host: 'evil.example:7070' }, /not this loopback admin API/], // DNS rebinding
    [{ host: '127.0.0.1.evil.example:7070' }, /not this loopback admin API/],
    [{ host: '127.0.0.1:7071' }, /not this loopback admin API/],
    [{}, /not this loopback admin API/],
    [{ host: '127.0.0.1:7070', origin: 'https://evil.example' }, /web browsers/], // CSRF
    [{ host: '127.0.0.1:7070', 'sec-fetch-site': 'cross-site' }, /web browsers/],
  ] as const)('%o → %s', (headers, expected) => {
    const r = refusal({ headers: { ...headers } }, 7070);
    if (expected === null) expect(r).toBeNull();
    else {
      expect(r?.error).toMatch(expected);
      expect(r?.fix).toMatch(/127\.0\.0\.1:7070|zerodrop ctl/);
    }
  });
});
