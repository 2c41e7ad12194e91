/**
 * crash-zone and hang-zone: every replica of a zone killed (SIGKILL) or frozen (SIGSTOP: TCP
 * accepts, nothing answers). One module for both: they differ only in how the zone fails.
 * Judged by being injected and by the workload getting back to full strength under load.
 */
import { z } from 'zod';
import { formatDuration } from '../../scenario/duration.js';
import { duration, name } from '../../scenario/fields.js';
import { stepCheck, managed, type ActionDef, type StepBase } from '../types.js';

export interface ZoneFailureStep extends StepBase {
  kind: 'crash-zone' | 'hang-zone';
  zone: string;
}

function zoneFailure<A extends 'crash-zone' | 'hang-zone'>(action: A) {
  const schema = z.strictObject({ at: duration, action: z.literal(action), zone: name });
  const mode = action === 'crash-zone' ? 'crash' : 'hang';
  const def: ActionDef<z.output<typeof schema>, ZoneFailureStep> = {
    action,
    schema,
    plan: (step) => ({ atMs: step.at, kind: action, label: `zone ${step.zone} ${mode} at ${formatDuration(step.at)}`, zone: step.zone }),
    async execute(step, ctx) {
      const controller = managed(ctx);
      await controller.failZone(step.zone, mode);
      return { outcome: 'done', detail: null };
    },
    checks(step, id, ran, { events, sendEnd, replicas }) {
      const down = events.find((e) => e.type === 'zone.down' && e.zone === step.zone && e.t >= ran.startedMs - 1);
      const recovered = events.find((e) => e.type === 'workload.recovered' && down !== undefined && e.t >= down.t);
      const inLoad = recovered !== undefined && recovered.t <= sendEnd;
      return [
        stepCheck(`${id}-injected`, `${step.label}: injected`, down ? 'pass' : 'fail', `zone ${step.zone} failed (${action})`,
          down && down.type === 'zone.down' ? `${down.replicas.length} replicas ${mode === 'crash' ? 'killed' : 'frozen'}` : 'not injected', down ? undefined : ran.detail ?? undefined),
        stepCheck(`${id}-recovered`, `${step.label}: workload back to full strength`, inLoad ? 'pass' : 'fail',
          `${replicas} replicas available again (on the surviving zones) before the load ended`,
          recovered && recovered.type === 'workload.recovered' ? `recovered ${(recovered.afterMs / 1000).toFixed(1)} s after the failure${inLoad ? '' : ' — after the load had ended'}` : 'never recovered',
          inLoad ? undefined : 'replacements did not become ready on the surviving zones in time'),
      ];
    },
    windowEnd(ran, events) {
      const recovered = events.find((e) => e.type === 'workload.recovered' && e.t >= ran.startedMs);
      return recovered ? recovered.t : null;
    },
    disruptionKind: action === 'crash-zone' ? 'zone-crash' : 'zone-hang',
  };
  return def;
}

export const crashZone = zoneFailure('crash-zone');
export const hangZone = zoneFailure('hang-zone');
