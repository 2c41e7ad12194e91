/**
 * Target mode (harness/src/scenario/target-mode.ts): the checks that need zerodrop's own proxy or
 * replicas (counters reconciled with them, the orchestrator's rules, retries the proxy did) cannot
 * be judged. They stay in the report, marked not applicable (skip), never passed.
 */
import type { Check } from '../../result/types.js';

const NEEDS_ZERODROP = (c: Check): boolean =>
  c.group === 'counters' && c.id !== 'counters.driver-metrics-equal-ledger' ? true : c.group === 'orchestrator' || c.id === 'thresholds.rollout-retries' || c.group === 'prometheus';

export function judgeForTargetMode(checks: Check[]): void {
  for (let i = 0; i < checks.length; i++) {
    const c = checks[i] as Check;
    if (NEEDS_ZERODROP(c)) {
      const { explanation: _dropped, numbers: _n, ...rest } = c;
      checks[i] = { ...rest, status: 'skip', actual: 'not applicable in target mode: it needs zerodrop\'s own proxy or replicas' };
    } else if (c.id === 'load.rate-reached' && c.explanation) {
      checks[i] = { ...c, explanation: c.explanation.replace('through the proxy', 'to the target') };
    } else if (c.id === 'ledger.ids-echoed') {
      checks[i] = { ...c, actual: `${c.actual} (target mode: ids are checked where the target echoes them; no data plane of zerodrop's attests the rest)` };
    }
  }
}
