/**
 * Every timeline action, by name. Adding one: a module under actions/ (schema, plan, execute,
 * disruption kind, checks for exec-like steps) and a line in each list below (docs/architecture.md,
 * "Add a timeline action").
 */
import { z } from 'zod';
import { exec, type ExecStep } from './actions/exec.js';
import { http, type HttpStep } from './actions/http.js';
import { recoverZone, type RecoverZoneStep } from './actions/recover-zone.js';
import { rollback, type RollbackStep } from './actions/rollback.js';
import { rollout, type RolloutStep } from './actions/rollout.js';
import { rotateSecret, type RotateSecretStep } from './actions/rotate-secret.js';
import { scale, type ScaleStep } from './actions/scale.js';
import { crashZone, hangZone, type ZoneFailureStep } from './actions/zone-failure.js';
import type { ActionDef, StepBase } from './types.js';

type InputOf<A> = A extends ActionDef<infer I, StepBase> ? I : never;

/** A timeline entry as the scenario schema outputs it. */
export type TimelineAction =
  | InputOf<typeof rollout>
  | InputOf<typeof rollback>
  | InputOf<typeof scale>
  | InputOf<typeof crashZone>
  | InputOf<typeof hangZone>
  | InputOf<typeof recoverZone>
  | InputOf<typeof rotateSecret>
  | InputOf<typeof exec>
  | InputOf<typeof http>;

export type PlannedStep = RolloutStep | RollbackStep | ScaleStep | ZoneFailureStep | RecoverZoneStep | RotateSecretStep | ExecStep | HttpStep;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each entry has its own input and step types
type AnyAction = ActionDef<any, any>;

export const TIMELINE_ACTIONS: readonly AnyAction[] = [rollout, rollback, scale, crashZone, hangZone, recoverZone, rotateSecret, exec, http];

export const ACTION_NAMES = TIMELINE_ACTIONS.map((a) => a.action as string);

export const timelineActionSchema = z.discriminatedUnion(
  'action',
  [
    rollout.schema,
    rollback.schema,
    scale.schema,
    crashZone.schema,
    hangZone.schema,
    recoverZone.schema,
    rotateSecret.schema,
    exec.schema,
    http.schema,
  ] as unknown as [z.ZodObject, ...z.ZodObject[]],
  { error: () => `action must be one of: ${ACTION_NAMES.join(', ')}` },
) as unknown as z.ZodType<TimelineAction>;

/** The definition of a planned step's action. */
export function actionOf(step: StepBase): AnyAction {
  const def = TIMELINE_ACTIONS.find((a) => a.action === step.kind);
  if (!def) throw new Error(`no timeline action "${step.kind}"`);
  return def;
}

/** Most replica starts the run's steps could make; a spare for a replica that crashes on its own. */
export function replicaStartsOf(steps: readonly StepBase[], deployment: { replicas: number; zones: number }): number {
  const starts = steps.reduce((sum, step) => sum + (actionOf(step).replicaStarts?.(step, deployment) ?? 0), 0);
  return starts === 0 ? 0 : Math.min(MAX_PREWARMED_STARTS, starts + 1);
}
/** Sandboxes cost a few MB each, but their making is start-up time: bounded. */
const MAX_PREWARMED_STARTS = 64;

/** Fix lines of every action's own fields. */
export const ACTION_FIXES: Record<string, string> = Object.fromEntries(TIMELINE_ACTIONS.flatMap((a) => Object.entries(a.fixes ?? {})));

/** Disruption kinds of the actions judged by whether they ran (exec, http): no orchestrator events of their own. */
export function commandStepKinds(): Set<string> {
  return new Set(TIMELINE_ACTIONS.filter((a) => a.checks !== undefined).map((a) => a.disruptionKind as string));
}
