/**
 * The run's state phases (issue 16), between the last counter read and the verdict: the read-back
 * of every write (load.writes) and the secrets' evidence (deployment.secrets). Kept out of
 * runner.ts, which only calls them.
 */
import type { DeploymentController, Runtime } from '../../../orchestrator/index.js';
import type { LedgerData } from '../driver/ledger.js';
import { writeSeqPredicate } from '../driver/writes.js';
import type { RunPlan } from '../scenario/resolve.js';
import { summarizeData, type DataResult } from '../verify/checks/data.js';
import { findLeaks, type SecretsEvidence } from '../verify/checks/secrets.js';
import type { StepRecord } from '../verify/verify.js';
import { readBack } from './read-back.js';
import type { RunIo } from './runner.js';
import { filesUnder, saveReplicaLogs, type SecretsSession } from './secrets.js';

/** The read-back (run/read-back.ts) and its figures per step window (verify/checks/data.ts). */
export async function readBackPhase(
  plan: RunPlan,
  ledger: LedgerData,
  url: string,
  origin: number,
  steps: StepRecord[],
  io: RunIo,
  headers: Record<string, string>,
): Promise<DataResult> {
  const isWrite = writeSeqPredicate(plan.driver.requests);
  io.log('▶ read-back: every write of the run, through the data plane');
  const ev = await readBack({ url, ledger, isWrite, headers, listTimes: plan.volume?.perZone ? plan.deployment.replicas * 2 : 1 });
  // The driver starts a moment after the origin: its last write may be due a little after durationMs.
  const loadEnd = Math.max(plan.driver.durationMs, ledger.length > 0 ? Math.ceil((ledger.intended[ledger.length - 1] ?? origin) - origin) : 0);
  const data = summarizeData({
    runId: ledger.runId,
    rows: ev.rows,
    intendedMs: (seq) => (ledger.intended[seq] ?? origin) - origin,
    listed: ev.listed,
    listNote: ev.listNote,
    readBack: { startedMs: ev.startedAtMs - origin, endedMs: ev.endedAtMs - origin, requests: ev.requests },
    windows: [
      { label: 'whole load', fromMs: 0, toMs: loadEnd },
      ...steps.map((s) => ({ label: s.step.label, fromMs: s.startedMs, toMs: s.endedMs ?? loadEnd })),
    ],
    perZone: plan.volume?.perZone ?? false,
  });
  io.log(
    `✔ read-back in ${((ev.endedAtMs - ev.startedAtMs) / 1000).toFixed(1)}s: ${data.durable}/${data.acknowledged} acknowledged writes intact, ${data.missing + data.corrupt} lost, ${data.phantom} phantom`,
  );
  return data;
}

/**
 * The secrets' evidence: 401/403 answers in the ledger, and the leak scan over every artifact that
 * exists before the reports (the replicas' logs, saved under logs/) and every input of result.json.
 */
export async function secretsPhase(
  secrets: SecretsSession,
  dir: string,
  ledger: LedgerData,
  controller: DeploymentController,
  runtime: Runtime,
  inputs: unknown[],
): Promise<SecretsEvidence> {
  let status401 = 0;
  let status403 = 0;
  for (let i = 0; i < ledger.length; i++) {
    const st = ledger.status[i];
    if (st === 401) status401++;
    else if (st === 403) status403++;
  }
  await saveReplicaLogs(
    dir,
    controller.allReplicas.map((r) => r.id),
    (id) => runtime.logs(id, 10_000),
  );
  const artifacts = [...filesUnder(dir), { name: 'result.json (its inputs)', bytes: Buffer.from(JSON.stringify(inputs)) }];
  return {
    names: secrets.secrets.names,
    rotations: secrets.rotations,
    status401,
    status403,
    scanned: artifacts.map((a) => a.name),
    leaks: findLeaks(artifacts, secrets.secrets.allValues),
  };
}
