/**
 * Finding the haproxy binary and telling the user what to do when it is missing. Shared with the
 * bench (scripts/bench/haproxy.ts), which runs HAProxy as a comparison anchor.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { ZerodropError } from '../../../../common/src/errors.js';

/** Where Debian/Ubuntu install it. `ZERODROP_HAPROXY_BIN` overrides (resolveHaproxyBinary). */
export const HAPROXY_BIN = '/usr/sbin/haproxy';

export const HAPROXY_INSTALL_FIX =
  'install it (Debian/Ubuntu: apt-get install -y haproxy; HAProxy ≥ 2.6 with the Prometheus exporter), set ZERODROP_HAPROXY_BIN to its path, or use the built-in proxy (--proxy node, or proxy.engine: node)';

/** $ZERODROP_HAPROXY_BIN, else HAPROXY_BIN. Not checked: see haproxyAvailability. */
export function resolveHaproxyBinary(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['ZERODROP_HAPROXY_BIN'];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : HAPROXY_BIN;
}

export type HaproxyAvailability = { ok: true; binary: string; version: string } | { ok: false; binary: string; reason: string };

const cache = new Map<string, HaproxyAvailability>();

/** The version ("2.6.12-1+deb12u4") of the binary, or why it cannot be used. Cached per path. */
export function haproxyAvailability(binary: string = resolveHaproxyBinary()): HaproxyAvailability {
  const hit = cache.get(binary);
  if (hit) return hit;
  let result: HaproxyAvailability;
  try {
    accessSync(binary, constants.X_OK);
    const v = spawnSync(binary, ['-v'], { encoding: 'utf8', timeout: 5000 });
    const m = /version (\S+)/i.exec(v.stdout ?? '');
    result =
      v.status === 0 && m
        ? { ok: true, binary, version: m[1]! }
        : { ok: false, binary, reason: `${binary} -v failed: ${(v.stderr ?? '').trim() || `exit ${String(v.status)}`}` };
  } catch {
    result = { ok: false, binary, reason: `${binary} is not installed or not executable (apt-get install -y haproxy)` };
  }
  cache.set(binary, result);
  return result;
}

/** HAProxy's major.minor as a number (2.6 → 2.06), or null. Dynamic servers need 2.4+, set-var-fmt 2.5+. */
export function haproxyMinor(version: string): number | null {
  const m = /^(\d+)\.(\d+)/.exec(version);
  return m ? Number(m[1]) + Number(m[2]) / 100 : null;
}

/**
 * Throws ZD_PROXY_FAILED with the fix when HAProxy cannot be used. Call it while checking the
 * plan, before any replica starts.
 */
export function preflightHaproxy(binary: string = resolveHaproxyBinary()): { binary: string; version: string } {
  const a = haproxyAvailability(binary);
  if (!a.ok) {
    throw new ZerodropError('ZD_PROXY_FAILED', `the HAProxy data plane was asked for, but ${a.reason}`, { fix: HAPROXY_INSTALL_FIX });
  }
  const minor = haproxyMinor(a.version);
  if (minor === null || minor < 2.06) {
    throw new ZerodropError(
      'ZD_PROXY_FAILED',
      `the HAProxy data plane needs HAProxy 2.6 or newer (runtime-API dynamic servers, set-var-fmt); ${binary} is ${a.version}`,
      {
        fix: HAPROXY_INSTALL_FIX,
      },
    );
  }
  return { binary: a.binary, version: a.version };
}
