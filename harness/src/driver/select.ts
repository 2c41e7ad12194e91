/** Picks the engine named by the config. */
import { startAutocannonEngine } from './autocannon.js';
import type { EngineOptions, EngineRun } from './engine.js';
import { startOpenEngine } from './open.js';
import type { DriverConfig } from './types.js';

export function startEngine(config: DriverConfig, options: EngineOptions = {}): EngineRun {
  return config.engine === 'autocannon' ? startAutocannonEngine(config, options) : startOpenEngine(config, options);
}
