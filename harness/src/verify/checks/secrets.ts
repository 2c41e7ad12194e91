/**
 * The secrets checks (deployment.secrets), pure functions of plain data:
 *   secrets.no-auth-failures   requests answered 401 or 403 = 0 (a rotation done right has an
 *                              overlap window in which the old and the new token are accepted)
 *   secrets.not-leaked         files of the run (reports, replica logs, metrics) holding a value
 *                              of a generated secret = 0
 */
import type { Check } from '../../result/types.js';
import { check, type CheckModule } from '../check.js';

/** The module (registry.ts): the checks run when the deployment has secrets. */
export const secretsCheckModule: CheckModule = {
  name: 'secrets',
  ids: ['secrets.no-auth-failures', 'secrets.not-leaked'],
  checks: (run) => (run.secrets ? secretsChecks(run.secrets) : []),
};

export interface SecretsEvidence {
  /** Secret names (never values). */
  names: string[];
  rotations: number;
  /** Ledger rows answered 401 / 403. */
  status401: number;
  status403: number;
  /** Files (relative to the run's directory) and in-memory artifacts scanned, and those holding a value. */
  scanned: string[];
  leaks: string[];
}

export function secretsChecks(e: SecretsEvidence): Check[] {
  const denied = e.status401 + e.status403;
  const leaked = e.leaks.length > 0;
  return [
    check({
      id: 'secrets.no-auth-failures',
      group: 'secrets',
      title: 'No request was refused for its credentials (through every rotation)',
      status: denied === 0 ? 'pass' : 'fail',
      expected: '401 + 403 answers = 0',
      actual: `${denied} (401: ${e.status401}, 403: ${e.status403}) over ${e.rotations} rotation(s)`,
      numbers: { status401: e.status401, status403: e.status403, rotations: e.rotations },
      broken: `${denied} request(s) refused for their credentials`,
      explanation:
        denied > 0
          ? 'replicas refused the token the clients held: a rotation must accept the old and the new value until every client has the new one (an overlap window)'
          : undefined,
    }),
    check({
      id: 'secrets.not-leaked',
      group: 'secrets',
      title: 'No artifact of the run holds a secret value',
      status: leaked ? 'fail' : 'pass',
      expected: 'artifacts holding a generated secret value = 0',
      actual: leaked ? `${e.leaks.length} of ${e.scanned.length} scanned: ${e.leaks.join(', ')}` : `0 of ${e.scanned.length} scanned`,
      numbers: { scanned: e.scanned.length, leaks: e.leaks.length },
      broken: `a secret value in ${e.leaks.join(', ')}`,
      explanation: leaked
        ? 'a secret value was written where it does not belong (a log line, a report): whoever reads the artifacts has the credential'
        : undefined,
    }),
  ];
}

/** Which of the named artifacts contain any of the values (plain byte search). */
export function findLeaks(artifacts: { name: string; bytes: Buffer }[], values: readonly string[]): string[] {
  const needles = values.filter((v) => v.length >= 8).map((v) => Buffer.from(v, 'utf8'));
  return artifacts.filter((a) => needles.some((n) => a.bytes.includes(n))).map((a) => a.name);
}
