/**
 * The data planes a run can put between the load and the replicas. Its own module, free of the
 * engines' code, so argument parsers (the CLI, the bench) can check a name without loading them.
 */
export const DATA_PLANE_ENGINES = ['node', 'haproxy'] as const;
export type DataPlaneEngine = (typeof DATA_PLANE_ENGINES)[number];
export const DEFAULT_DATA_PLANE_ENGINE: DataPlaneEngine = 'node';

export function isDataPlaneEngine(name: string): name is DataPlaneEngine {
  return (DATA_PLANE_ENGINES as readonly string[]).includes(name);
}
