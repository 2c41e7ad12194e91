/**
 * Counter scraping: every live replica's served-traffic counter on an interval (for replicas that
 * die without a final snapshot), and the one final read of a retired replica after it drained.
 */
import type { Timer } from '../../../common/src/clock.js';
import type { ControllerContext } from './context.js';
import type { ReplicaRecord } from './types.js';

export class CounterScraper {
  private timer: Timer | null = null;

  constructor(private readonly ctx: ControllerContext) {}

  start(): void {
    this.timer = this.ctx.clock.every(this.ctx.options.scrapeIntervalMs ?? 1000, () => void this.scrapeAll(), { ref: false });
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  async scrapeAll(): Promise<void> {
    const reader = this.ctx.options.readCounts;
    const path = this.ctx.spec.template.metricsPath;
    if (!reader || !path) return;
    // Terminating replicas get exactly one more read: the final one, after they drained.
    const targets = [...this.ctx.records.values()].filter((r) => r.started && r.exit === null && r.phase !== 'terminating' && !this.runtimePaused(r));
    await Promise.all(
      targets.map(async (r) => {
        const started = r.started;
        if (!started) return;
        const responses = await reader(started.adminEndpoint ?? started.endpoint, path).catch(() => null);
        if (responses !== null) r.lastScrape = { responses, atMs: this.ctx.now() };
      }),
    );
  }

  async readFinalCounts(record: ReplicaRecord): Promise<void> {
    const reader = this.ctx.options.readCounts;
    const path = this.ctx.spec.template.metricsPath;
    const started = record.started;
    if (!reader || !path || !started) return;
    const responses = await reader(started.adminEndpoint ?? started.endpoint, path, true).catch(() => null);
    if (responses !== null) record.final = { responses, atMs: this.ctx.now() };
    this.ctx.record({ t: this.ctx.now(), type: 'replica.final-counts', ...this.ctx.ref(record), ok: responses !== null, responses });
  }

  private runtimePaused(record: ReplicaRecord): boolean {
    try {
      return this.ctx.runtime.inspect(record.id).state === 'paused';
    } catch {
      return true;
    }
  }
}
