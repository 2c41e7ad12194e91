/** Picks the engine named by the config. */
import type { EngineOptions, EngineResult, EngineRun } from './engine.js';
import { startOpenEngine } from './open.js';
import type { DriverConfig } from './types.js';

/**
 * Starts the engine the config names. The autocannon engine is loaded on demand: autocannon
 * pulls in a wasm histogram and a dozen modules that the open engine does not need, and the
 * driver worker should start sending as soon as it can.
 */
export function startEngine(config: DriverConfig, options: EngineOptions = {}): EngineRun {
  if (config.engine !== 'autocannon') return startOpenEngine(config, options);
  let inner: EngineRun | null = null;
  let stopRequested = false;
  const done = import('./autocannon.js').then((m): Promise<EngineResult> => {
    inner = m.startAutocannonEngine(config, options);
    if (stopRequested) inner.stop();
    return inner.done;
  });
  return {
    done,
    stop: () => {
      stopRequested = true;
      inner?.stop();
    },
  };
}
