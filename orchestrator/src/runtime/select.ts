/** Picks the runtime named by the scenario or --runtime. */
import { ProcessRuntime } from './process.js';
import type { Runtime, RuntimeName } from './types.js';
import { ZerodropError } from '../common/errors.js';

export interface RuntimeSelection {
  runId: string;
  log?: (line: string) => void;
}

export function createRuntime(name: RuntimeName, _selection: RuntimeSelection): Runtime {
  if (name === 'process') return new ProcessRuntime();
  throw new ZerodropError('ZD_RUNTIME_UNAVAILABLE', `runtime "${name}" is not available in this build`, {
    fix: 'use --runtime process',
  });
}
