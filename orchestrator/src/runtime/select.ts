/** Picks the runtime named by the scenario or --runtime. */
import { DockerRuntime } from './docker.js';
import { ProcessRuntime } from './process.js';
import type { Runtime, RuntimeName } from './types.js';
import { ZerodropError } from '../common/errors.js';

export interface RuntimeSelection {
  runId: string;
  log?: (line: string) => void;
  /**
   * Docker: images the run will use (first version and rollout targets). They are built (the
   * sample-app) or checked (users' images) at prepare(), so a missing one fails before any replica
   * starts instead of at the first rollout step. Optional: start() readies an image on first use.
   */
  images?: string[];
}

export function createRuntime(name: RuntimeName, selection: RuntimeSelection): Runtime {
  if (name === 'process') return new ProcessRuntime();
  if (name === 'docker') {
    return new DockerRuntime({
      ...(selection.log ? { log: selection.log } : {}),
      ...(selection.images ? { images: selection.images } : {}),
    });
  }
  throw new ZerodropError('ZD_RUNTIME_UNAVAILABLE', `runtime "${String(name)}" is not available in this build`, {
    fix: 'use --runtime process or --runtime docker',
  });
}
