/**
 * A timeline action, declared in one module (the k6 executor-registry habit): its schema, how it
 * is planned (label), how it is executed under load and its disruption kind; an action judged by
 * whether it ran (exec, http) also has its checks. registry.ts lists them; the verifier judges the
 * others from their timeline events (harness/src/verify/steps.ts, checks/events.ts).
 */
import type { z } from 'zod';
import type { DeploymentController } from '../../../orchestrator/index.js';
import type { PodTemplate } from '../../../orchestrator/index.js';
import type { TimelineEvent } from '../../../orchestrator/index.js';
import type { Check, DisruptionEvent } from '../result/types.js';
import type { SecretsSession } from '../run/secrets.js';
import type { Scenario } from '../scenario/schema.js';
import type { StepOutcome } from './outcome.js';

/** What every planned step has; each action adds its own fields. */
export interface StepBase {
  atMs: number;
  label: string;
  kind: string;
}

/** A planned step, as it ran. */
export interface StepRecord<S extends StepBase = StepBase> {
  step: S;
  /** ms from origin. */
  startedMs: number;
  endedMs: number | null;
  /** invalid: the step could not be judged because of the machine or the set-up (e.g. command not found). */
  outcome: 'running' | 'done' | 'failed' | 'invalid';
  detail: string | null;
}

export interface PlanContext {
  scenario: Scenario;
  /** The sample-app command with these negative-control switches (null when the target is not the sample-app). */
  sampleAppCommand: (faults: string[]) => string[] | null;
}

export interface ExecuteContext {
  /** zerodrop's own deployment; null in target mode (only exec and http steps run there). */
  controller: DeploymentController | null;
  log: (line: string) => void;
  /** The run's secrets (deployment.secrets), when it has any: rollouts carry them, rotate-secret rotates them. */
  secrets?: SecretsSession | null;
  /** Switches the driver's request headers (the bearer token after a rotation). */
  setHeaders?: (headers: Record<string, string>) => void;
}

/** The deployment an action acts on; target mode's schema rules keep these actions out of it. */
export function managed(ctx: ExecuteContext): DeploymentController {
  if (ctx.controller === null) throw new Error("this action needs zerodrop's own replicas (not target mode)");
  return ctx.controller;
}

export interface StepResult {
  outcome: 'done' | 'failed' | 'invalid';
  detail: string | null;
}

export interface CheckContext {
  /** Timeline events, ms from origin. */
  events: TimelineEvent[];
  /** End of the load's sending window, ms from origin. */
  sendEnd: number;
  /** Replicas the deployment wants (for "back to full strength"). */
  replicas: number;
}

export interface ActionDef<I extends { at: number; action: string }, S extends StepBase> {
  readonly action: I['action'];
  /** strictObject with `at` and `action: z.literal(...)`. */
  readonly schema: z.ZodType<I, unknown>;
  /** Fix lines by field (under timeline.*), for the errors of this action's fields. */
  readonly fixes?: Record<string, string>;
  plan(input: I, ctx: PlanContext): S;
  execute(step: S, ctx: ExecuteContext): Promise<StepResult>;
  /**
   * The checks of a step judged by whether it ran (exec, http); `id` is "events.<n>-<action>".
   * Actions that change the deployment give `outcome` and `judge` instead: what they did comes
   * from the timeline events they produce.
   */
  checks?(step: S, id: string, ran: StepRecord<S>, ctx: CheckContext): Check[];
  /** What the step did, from its record and the timeline (outcome.ts; verify/steps.ts runs it). Default: whether it ran. */
  outcome?(n: number, step: S, ran: StepRecord<S>, events: readonly TimelineEvent[]): StepOutcome<S>;
  /** Its checks from what it did (checks/events.ts runs it); `id` is "events.<n>-<action>". */
  judge?(o: StepOutcome<S>, id: string, ctx: CheckContext): Check[];
  /** The ids one step yields, as suffixes of its id (default ['']): a zone failure has -injected and -recovered. */
  readonly checkSuffixes?: readonly string[];
  /** The end of its disruption window (verify/disruption.ts). Default: when its effect ended. */
  windowEnd?(o: StepOutcome<S>): number | null;
  readonly disruptionKind: DisruptionEvent['kind'];
  /**
   * How many replicas the step may start, at most (default none): the docker runtime makes a pod
   * sandbox for each before the load (orchestrator/src/runtime/docker-sandbox.ts).
   */
  replicaStarts?(step: S, deployment: { replicas: number; zones: number }): number;
  /** false: running it alone is no disruption (a zone coming back), so the headline says "load only". Default true. */
  readonly disruptive?: boolean;
}

/** A zone's share of the deployment's replicas: what a zone failure or recovery starts elsewhere or back. */
export function zoneShare(d: { replicas: number; zones: number }): number {
  return Math.ceil(d.replicas / Math.max(1, d.zones));
}

/** A check with its optional parts left out when empty. */
export function stepCheck(id: string, title: string, status: Check['status'], expected: string, actual: string, explanation?: string): Check {
  const c: Check = { id, group: 'events', title, status, expected, actual };
  if (explanation) c.explanation = explanation;
  return c;
}

export type { PodTemplate };
