/**
 * Target mode (harness/src/scenario/target-mode.ts): the checks that need zerodrop's own proxy or
 * replicas (counters reconciled with them, the orchestrator's rules, retries the proxy did),
 * declared by their modules as `needsOwnDeployment`, cannot be judged. They stay in the report,
 * marked not applicable (skip) with the reason, never passed.
 */
import type { Check } from '../../result/types.js';
import { matchesDeclared } from '../check.js';

const NOT_APPLICABLE = "not applicable in target mode: it needs zerodrop's own proxy or replicas";

export function judgeForTargetMode(checks: Check[], needsOwnDeployment: readonly string[]): void {
  for (let i = 0; i < checks.length; i++) {
    const c = checks[i] as Check;
    if (needsOwnDeployment.some((pattern) => matchesDeclared(c.id, pattern))) {
      checks[i] = { id: c.id, group: c.group, title: c.title, status: 'skip', expected: c.expected, actual: NOT_APPLICABLE };
    } else if (c.id === 'load.rate-reached' && c.explanation) {
      checks[i] = { ...c, explanation: c.explanation.replace('through the proxy', 'to the target') };
    } else if (c.id === 'ledger.ids-echoed') {
      checks[i] = { ...c, actual: `${c.actual} (target mode: ids are checked where the target echoes them; no data plane of zerodrop's attests the rest)` };
    }
  }
}
