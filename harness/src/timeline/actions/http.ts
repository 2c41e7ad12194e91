/**
 * http: one HTTP request under load (a deploy webhook, an admin endpoint). Done when the answer
 * has the expected status (any 2xx by default); its disruption window is the time it took.
 */
import { z } from 'zod';
import { formatDuration } from '../../scenario/duration.js';
import { duration } from '../../scenario/fields.js';
import { stepCheck, type ActionDef, type StepBase } from '../types.js';

const schema = z.strictObject({
  at: duration,
  action: z.literal('http'),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('POST'),
  url: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }),
  headers: z.record(z.string(), z.string()).default({}),
  body: z.string().nullable().default(null),
  /** Unset: any 2xx. */
  expectStatus: z.number().int().min(100).max(599).optional(),
  timeout: duration.default(10_000),
});

export interface HttpStep extends StepBase {
  kind: 'http';
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
  expectStatus: number | null;
  timeoutMs: number;
}

export const http: ActionDef<z.output<typeof schema>, HttpStep> = {
  action: 'http',
  schema,
  fixes: {
    'timeline.*.url': 'the URL to call, e.g. url: http://127.0.0.1:8080/deploy',
    'timeline.*.expectStatus': 'the status that means it worked, e.g. expectStatus: 202 (unset: any 2xx)',
  },
  plan: (step) => ({
    atMs: step.at,
    kind: 'http',
    label: `http ${step.method} ${step.url} at ${formatDuration(step.at)}`,
    method: step.method,
    url: step.url,
    headers: step.headers,
    body: step.body,
    expectStatus: step.expectStatus ?? null,
    timeoutMs: step.timeout,
  }),
  async execute(step, { log }) {
    const shown = `${step.method} ${step.url}`;
    try {
      const res = await fetch(step.url, {
        method: step.method,
        headers: step.headers,
        body: step.body ?? undefined,
        signal: AbortSignal.timeout(step.timeoutMs),
      });
      const text = (await res.text()).slice(0, 200).replace(/\s+/g, ' ').trim();
      const ok = step.expectStatus === null ? res.status >= 200 && res.status < 300 : res.status === step.expectStatus;
      const detail = `${shown}: HTTP ${res.status}${text ? ` (${text})` : ''}`;
      log(`${ok ? '✔' : '✘'} ${step.label}: HTTP ${res.status}`);
      return { outcome: ok ? 'done' : 'failed', detail };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const why = e.name === 'TimeoutError' ? `no answer within ${formatDuration(step.timeoutMs)}` : (e.cause?.code ?? e.message);
      return { outcome: 'failed', detail: `${shown}: ${why}` };
    }
  },
  checks: (step, id, ran) => [
    stepCheck(
      id,
      step.label,
      ran.outcome === 'failed' ? 'fail' : ran.outcome === 'invalid' ? 'invalid' : 'pass',
      step.expectStatus === null ? 'a 2xx answer' : `HTTP ${step.expectStatus}`,
      ran.detail ?? ran.outcome,
    ),
  ],
  disruptionKind: 'http',
};
