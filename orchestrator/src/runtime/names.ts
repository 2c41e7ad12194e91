/**
 * The runtimes a deployment can run on. Its own module, free of the runtimes' code, so argument
 * parsers and the scenario schema can check a name without loading dockerode.
 */
export const RUNTIME_NAMES = ['process', 'docker'] as const;
export type RuntimeName = (typeof RUNTIME_NAMES)[number];
export const DEFAULT_RUNTIME: RuntimeName = 'process';

export function isRuntimeName(name: string): name is RuntimeName {
  return (RUNTIME_NAMES as readonly string[]).includes(name);
}
