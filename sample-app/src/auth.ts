/**
 * sample-app's bearer-token gate (deployment.secrets): the Deployment's secret is mounted read-only
 * as files in a directory (ZERODROP_SECRETS_DIR, like a Kubernetes secret volume): `token`, and
 * during a rotation's overlap window `token.previous`. Traffic routes need
 * `Authorization: Bearer <token>` (or the previous one while it is still mounted); probes and the
 * admin port do not. The values are read once at start (a rotation is a rollout) and never logged.
 *
 * Faults: rotate-without-overlap (the previous token is refused: clients still holding it fail
 * while the new replicas roll in); log-secret (the token is printed at start: a leak the run's
 * artifact scan must catch).
 */
import { existsSync, readFileSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';

export const SECRETS_DIR_ENV = 'ZERODROP_SECRETS_DIR';
export const TOKEN_FILE = 'token';
export const PREVIOUS_SUFFIX = '.previous';

export interface BearerGate {
  /** How many tokens are accepted (1, or 2 during an overlap window). */
  readonly accepted: number;
  /** true when the Authorization header value carries an accepted token. */
  allows(authorization: string | undefined): boolean;
}

export function loadBearerGate(dir: string, options: { withoutOverlap: boolean; log: ((line: string) => void) | null }): BearerGate {
  const read = (name: string): Buffer | null => {
    const path = join(dir, name);
    if (!existsSync(path)) return null;
    const text = readFileSync(path, 'utf8').trim();
    return text === '' ? null : Buffer.from(text, 'utf8');
  };
  const current = read(TOKEN_FILE);
  if (current === null) throw new Error(`no ${TOKEN_FILE} in ${dir}: mount the secret (deployment.secrets) or unset ${SECRETS_DIR_ENV}`);
  const previous = options.withoutOverlap ? null : read(`${TOKEN_FILE}${PREVIOUS_SUFFIX}`);
  if (options.log) options.log(`fault log-secret: bearer token is ${current.toString('utf8')}`);
  const tokens = previous === null ? [current] : [current, previous];
  return {
    accepted: tokens.length,
    allows(authorization) {
      if (authorization === undefined || !authorization.startsWith('Bearer ')) return false;
      const given = Buffer.from(authorization.slice(7).trim(), 'utf8');
      // Compare with every token, always (no early exit that tells which one matched).
      let ok = false;
      for (const t of tokens) if (t.length === given.length && timingSafeEqual(t, given)) ok = true;
      return ok;
    },
  };
}
