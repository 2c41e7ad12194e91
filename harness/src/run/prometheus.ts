/**
 * A real Prometheus in the loop (issue 6). Placeholder until the Prometheus session lands:
 * `--prometheus auto|<url>` is refused with a clear message instead of silently doing nothing.
 */
import { ZerodropError } from '../../../orchestrator/src/common/errors.js';
import type { DeploymentController } from '../../../orchestrator/src/controller.js';
import type { ProxyControl, ProxyStats } from '../../../orchestrator/src/proxy/types.js';
import type { LedgerData } from '../driver/ledger.js';
import type { PrometheusResult } from '../result/types.js';
import type { MetricsServer } from './metrics-server.js';

export interface PrometheusContext {
  runId: string;
  dir: string;
  controller: DeploymentController;
  proxy: ProxyControl;
  metricsServer: MetricsServer;
  log: (line: string) => void;
}

export interface PrometheusEvidence {
  ledger: LedgerData;
  proxyStats: ProxyStats;
  controller: DeploymentController;
  origin: number;
}

export class PrometheusSession {
  static async start(_mode: 'auto' | { url: string }, _ctx: PrometheusContext): Promise<PrometheusSession> {
    throw new ZerodropError('ZD_PROMETHEUS_UNAVAILABLE', 'Prometheus in the loop is not available in this build', {
      fix: 'run with --prometheus off',
    });
  }

  async verify(_evidence: PrometheusEvidence): Promise<PrometheusResult> {
    return { mode: 'off', url: null, dataDir: null, queries: [], note: null };
  }

  async stop(): Promise<void> {}
}
