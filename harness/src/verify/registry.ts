/**
 * The checks are a table: every check module, in report order. A new module is one file under
 * checks/ and one line here; its ids must be in the README's checks table (a test holds the two
 * together). Verdict rules that span modules (the load-shortfall downgrade) read the modules'
 * declarations, never a list of ids kept elsewhere (docs/architecture.md, "Add a check").
 *
 * Adding a module:
 *   export const myChecks: CheckModule = {
 *     name: 'orchestrator',                       // its check group: ids start with `${name}.`
 *     ids: ['orchestrator.my-rule'],              // every id it can return (README table too)
 *     checks: (run) => [check({ id: 'orchestrator.my-rule', group: 'orchestrator', … })],
 *   };
 * `run` is the snapshot: the VerifyInput fields (new ones included, as given), the timeline in
 * ms from origin (`events`), the replica records (`replicas`), the controller's final view, and
 * what is derived once (`tally`, `measured`, `stepOutcomes`, `replicaRows`…). Two modules may
 * share a group (name); ids must stay unique.
 */
import type { Check } from '../result/types.js';
import type { CheckModule } from './check.js';
import { judgeForTargetMode } from './checks/target-mode.js';
import { counterChecks } from './checks/counters.js';
import { eventChecks } from './checks/events.js';
import { ledgerChecks } from './checks/ledger.js';
import { loadChecks } from './checks/load.js';
import { orchestratorChecks } from './checks/orchestrator.js';
import { prometheusChecks } from './checks/prometheus.js';
import { machineChecks, retryChecks } from './checks/retries.js';
import { thresholdChecks } from './checks/thresholds.js';
import { dataCheckModule } from './checks/data.js';
import { secretsCheckModule } from './checks/secrets.js';
import { serverCounterChecks } from './checks/server-counters.js';
import type { RunSnapshot } from './snapshot.js';

export const CHECK_MODULES: readonly CheckModule[] = [
  ledgerChecks,
  counterChecks,
  loadChecks,
  eventChecks,
  orchestratorChecks,
  machineChecks,
  retryChecks,
  thresholdChecks,
  prometheusChecks,
  serverCounterChecks,
  dataCheckModule,
  secretsCheckModule,
];

/** Every id (pattern) the registered modules declare, in order. */
export function declaredCheckIds(modules: readonly CheckModule[] = CHECK_MODULES): string[] {
  return modules.flatMap((m) => m.ids);
}

/** Runs every module on the snapshot, then applies the cross-module verdict rules. */
export function runChecks(run: RunSnapshot, modules: readonly CheckModule[] = CHECK_MODULES): Check[] {
  const checks = modules.flatMap((m) => m.checks(run));
  if (run.plan.targetUrl !== null)
    judgeForTargetMode(
      checks,
      modules.flatMap((m) => m.needsOwnDeployment ?? []),
    );
  unjudgedUnderShortLoad(checks, modules);
  return checks;
}

/**
 * When the harness could not deliver the load asked (the rate fell short, requests due were
 * never sent, the run was cut short), the load-sensitive gates (latency, gaps) measured an
 * overloaded machine as much as the service: INVALID then, not FAIL. A drop or a retry rule is
 * never load-sensitive: a request lost, failed or retried is FAIL whatever the load. Schedule
 * lag alone does not count: a service that stalls fills every connection and makes the driver
 * late too, and its gates must stay FAIL then.
 */
function unjudgedUnderShortLoad(checks: Check[], modules: readonly CheckModule[]): void {
  const shortfallIds = new Set(modules.flatMap((m) => m.loadShortfall ?? []));
  const sensitive = new Set(modules.flatMap((m) => m.loadSensitive ?? []));
  const short = checks.filter((c) => shortfallIds.has(c.id) && c.status === 'invalid').map((c) => c.id);
  if (short.length === 0) return;
  for (const c of checks) {
    if (!sensitive.has(c.id) || c.status !== 'fail') continue;
    c.status = 'invalid';
    c.broken = `${c.broken ?? c.id} (not judged: the load was not what was asked)`;
    c.explanation = `not judged: the load was not what was asked (${short.join(', ')}), so this measured the overloaded harness as much as the service${c.explanation ? `; ${c.explanation}` : ''}`;
  }
}
