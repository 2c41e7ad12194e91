/**
 * maxSurge / maxUnavailable: from "25%" to a number of replicas, and their validation.
 * Copied from kubernetes/kubernetes pkg/controller/deployment/util/deployment_util.go
 * (ResolveFenceposts, MaxUnavailable, MaxSurge) and apimachinery intstr
 * (GetScaledValueFromIntOrPercent); validation from pkg/apis/apps/validation/validation.go
 * (ValidatePositiveIntOrPercent, IsNotMoreThan100Percent, ValidateRollingUpdateDeployment).
 */
import type { IntOrPercent } from '../spec.js';
import type { Fenceposts } from './types.js';

const PERCENT = /^([0-9]+)%$/;

export type IntOrPercentParse = { ok: true; value: IntOrPercent } | { ok: false; message: string };

/**
 * Accepts a whole number ≥ 0 or a string of digits followed by "%" (Kubernetes IsValidPercent:
 * no decimals, no sign, no spaces). A numeric string like "3" is refused, as Kubernetes refuses
 * it: a YAML author who quoted a number most likely forgot the "%".
 */
export function parseIntOrPercent(input: unknown): IntOrPercentParse {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input)) return { ok: false, message: `must be a whole number or a percentage like "25%", got ${input}` };
    if (input < 0) return { ok: false, message: `must not be negative, got ${input}` };
    return { ok: true, value: input };
  }
  if (typeof input === 'string') {
    if (!PERCENT.test(input)) {
      return { ok: false, message: `must be a whole number or a percentage like "25%" (digits then "%"), got ${JSON.stringify(input)}` };
    }
    return { ok: true, value: input as `${number}%` };
  }
  return { ok: false, message: `must be a whole number or a percentage like "25%", got ${input === null ? 'null' : typeof input}` };
}

/**
 * The cross-field rules of ValidateRollingUpdateDeployment. Returns every problem (empty = valid),
 * each naming its field, so a schema can attach them where they belong.
 */
export function validateRollingUpdate(maxSurge: IntOrPercent, maxUnavailable: IntOrPercent): string[] {
  const problems: string[] = [];
  if (rawValue(maxSurge) === 0 && rawValue(maxUnavailable) === 0) {
    problems.push('maxUnavailable may not be 0 when maxSurge is 0: the rollout could never make room for a new replica');
  }
  if (typeof maxUnavailable === 'string' && rawValue(maxUnavailable) > 100) {
    problems.push(`maxUnavailable must not be greater than 100%, got "${maxUnavailable}"`);
  }
  return problems;
}

/**
 * intstr.GetScaledValueFromIntOrPercent: a percentage of `total`, rounded up or down; an
 * absolute number is returned as is. Integer arithmetic (no float error at 29% of 100).
 */
export function scaledValue(value: IntOrPercent, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const scaled = rawValue(value) * total;
  return roundUp ? Math.ceil(scaled / 100) : Math.floor(scaled / 100);
}

/**
 * ResolveFenceposts + MaxUnavailable: surge rounds UP, unavailable rounds DOWN; if both come out
 * 0 (e.g. 1% of 2), unavailable becomes 1 "on the theory that surge might not work due to quota".
 * maxUnavailable is then clamped to `replicas` (0 for 0 replicas), as MaxUnavailable() does;
 * maxSurge is not clamped (MaxSurge() does not clamp either).
 */
export function resolveFenceposts(maxSurge: IntOrPercent, maxUnavailable: IntOrPercent, replicas: number): Fenceposts {
  const surge = scaledValue(maxSurge, replicas, true);
  let unavailable = scaledValue(maxUnavailable, replicas, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  if (replicas === 0) unavailable = 0;
  else if (unavailable > replicas) unavailable = replicas;
  return { maxSurge: surge, maxUnavailable: unavailable };
}

/** The number inside an IntOrPercent, ignoring the unit (getIntOrPercentValue in validation.go). */
function rawValue(value: IntOrPercent): number {
  if (typeof value === 'number') return value;
  const match = PERCENT.exec(value);
  return match?.[1] === undefined ? Number.NaN : Number(match[1]);
}
