/** With a real Prometheus in the loop: each scraped counter equals the in-process one, and the proof's equalities hold in PromQL alone. */
import type { Check, PrometheusResult } from '../../result/types.js';
import { check, fmt, fmtN, type CheckModule } from '../check.js';
import type { RunSnapshot } from '../snapshot.js';

export const prometheusChecks: CheckModule = {
  name: 'prometheus',
  ids: ['prometheus.<counter>', 'prometheus.sent-equals-received', 'prometheus.2xx-agree', 'prometheus.replicas-cover-proxy'],
  needsOwnDeployment: ['prometheus.<counter>', 'prometheus.sent-equals-received', 'prometheus.2xx-agree', 'prometheus.replicas-cover-proxy'],
  checks(run: RunSnapshot): Check[] {
    return run.prometheus.queries.map(prometheusCheck);
  },
};

function prometheusCheck(q: PrometheusResult['queries'][number]): Check {
  const status = q.value === null ? 'invalid' : q.agree === false ? 'fail' : 'pass';
  const id = `prometheus.${q.name}`;
  if (q.kind === 'cross') {
    const expected = q.expected ?? 0;
    return check({
      id,
      group: 'prometheus',
      title: `PromQL across components: ${q.name}`,
      status,
      expected: `${q.what ?? q.promql} = ${fmt(expected)} in PromQL (latest raw samples)`,
      actual: `PromQL ${fmtN(q.value)}`,
      broken:
        status === 'invalid'
          ? `Prometheus had no data for ${q.name} (a missed scrape)`
          : `Prometheus sees the components disagree: ${q.what ?? q.promql} = ${fmtN(q.value)}`,
      explanation:
        status === 'pass'
          ? undefined
          : status === 'invalid'
            ? 'Prometheus had no data for one of the components (a missed scrape)'
            : `Prometheus sees the components disagree: ${q.promql} = ${fmtN(q.value)}`,
    });
  }
  const rel = q.relation ?? '=';
  return check({
    id,
    group: 'prometheus',
    title: `PromQL agrees: ${q.name}`,
    status,
    expected: `PromQL ${rel} in-process (${fmtN(q.inProcess)})`,
    actual: `PromQL ${fmtN(q.value)}`,
    broken:
      status === 'invalid'
        ? `Prometheus had no data for ${q.name} (a missed scrape)`
        : `Prometheus's ${q.name} (${fmtN(q.value)}) disagrees with the in-process count (${fmtN(q.inProcess)})`,
    explanation:
      status === 'pass'
        ? undefined
        : status === 'invalid'
          ? 'Prometheus had no data for this (a missed scrape)'
          : `${q.promql} disagrees with the in-process count`,
  });
}
