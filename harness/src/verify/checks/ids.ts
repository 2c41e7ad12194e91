/**
 * The id check: every 2xx came back with its own x-zerodrop-id. Two forms, one rule:
 *   ledger.ids-echoed    the service echoes the id (the end-to-end check)
 *   ledger.ids-attested  the service does not echo it, so the data plane put the id of the request
 *                        it forwarded on the answer that came back on that connection
 *                        (orchestrator/src/proxy/id-attestation.ts); the driver still compares it
 *                        with its own, so a data plane that mixed up answers is still caught.
 */
import type { IdAttestationStats } from '../../../../orchestrator/index.js';
import type { Check } from '../../result/types.js';
import { check, fmt } from '../check.js';

export function idsCheck(idMismatches: number, ids: IdAttestationStats | undefined): Check {
  const status = idMismatches > 0 ? 'fail' : 'pass';
  const expected = 'id mismatches = 0';
  if (ids?.mode === 'attest') {
    const how = ids.source === 'declared' ? 'declared with target.echoesId: false' : 'detected from its first 2xx';
    return check({
      id: 'ledger.ids-attested',
      group: 'ledger',
      title: 'Every 2xx carried its own request id back (ids attested by the data plane)',
      status,
      expected,
      actual: `id mismatches = ${fmt(idMismatches)}; ${fmt(ids.attested)} ids attested by the data plane (the service does not echo x-zerodrop-id: ${how})`,
      numbers: { idMismatches, attested: ids.attested },
      broken: `${fmt(idMismatches)} responses carried another request's id (or none), with ids attested by the data plane`,
      explanation:
        idMismatches === 0
          ? undefined
          : "an answer came back with another request's id, or without one: the data plane attested the id of the request it forwarded, so the answers were mixed up between the data plane and the driver (or the service sent a wrong x-zerodrop-id of its own)",
    });
  }
  const detected = ids?.mode === 'echo' && ids.source === 'detected' ? ' (the service echoes x-zerodrop-id: detected from its first 2xx)' : '';
  return check({
    id: 'ledger.ids-echoed',
    group: 'ledger',
    title: 'Every 2xx carried its own request id back',
    status,
    expected,
    actual: `id mismatches = ${fmt(idMismatches)}${detected}`,
    broken: `${fmt(idMismatches)} responses carried another request's id (or none)`,
    explanation:
      idMismatches === 0
        ? undefined
        : 'a response answered another request (or lost the x-zerodrop-id header): a proxy or client mixed up responses; a service that never echoes the id is declared with target.echoesId: false',
  });
}
