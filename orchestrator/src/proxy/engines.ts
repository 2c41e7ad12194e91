/**
 * The data planes a run can put between the load and the replicas. Its own module, free of the
 * engines' code, so argument parsers (the CLI, the bench) can check a name without loading them.
 *
 * `auto` is a choice, not an engine: HAProxy when a usable one (2.6+) is installed, zerodrop's own
 * Node proxy otherwise (docs/architecture.md, "Data planes": HAProxy carries a request for about
 * half the Node proxy's CPU). On the Docker runtime too, where the Node proxy bound the ceiling (the
 * demo at 3,000 req/s FAILed on it and PASSed on HAProxy), now that a zone crash kills its
 * containers at one instant (docs/architecture.md, "Zone failures"). Except behind docker-proxy
 * (ZERODROP_DOCKER_ENDPOINT=published, or `auto` where the bridge cannot be reached): there a
 * crashed zone's containers reset connections instead of refusing them, HAProxy has no zone
 * ejection, and that cost client-visible resets (2 at 500 req/s) where the Node proxy lost none.
 */
import { dockerEndpointFromEnv, hasDockerBridge } from '../runtime/docker-endpoint.js';
import type { RuntimeName } from '../runtime/names.js';
import { haproxyAvailability, haproxyMinor, resolveHaproxyBinary } from './haproxy/binary.js';

export const DATA_PLANE_ENGINES = ['node', 'haproxy'] as const;
export type DataPlaneEngine = (typeof DATA_PLANE_ENGINES)[number];
export const DATA_PLANE_CHOICES = ['auto', ...DATA_PLANE_ENGINES] as const;
export type DataPlaneChoice = (typeof DATA_PLANE_CHOICES)[number];
/** What a scenario that names no engine gets. */
export const DEFAULT_DATA_PLANE_CHOICE: DataPlaneChoice = 'node';

export function isDataPlaneEngine(name: string): name is DataPlaneEngine {
  return (DATA_PLANE_ENGINES as readonly string[]).includes(name);
}

export function isDataPlaneChoice(name: string): name is DataPlaneChoice {
  return (DATA_PLANE_CHOICES as readonly string[]).includes(name);
}

/** What the choice may look at on this host (tests pass their own). */
export interface DataPlaneHost {
  platform: NodeJS.Platform;
  /** The engine's default bridge is an interface of this network namespace. */
  hasDockerBridge: () => boolean;
}

const THIS_HOST: DataPlaneHost = { platform: process.platform, hasDockerBridge };

/**
 * Why containers will be reached through published ports (docker-proxy), or null when their
 * bridge addresses should answer. The runtime decides for sure only on its first container
 * (docker-endpoint.ts); the plan is made before, so `auto` is judged here by what makes that probe
 * fail: a platform that is not Linux (Docker Desktop's VM) or no docker0 bridge in this network
 * namespace (a rootless engine, zerodrop in a container of its own).
 */
function behindDockerProxy(env: NodeJS.ProcessEnv, host: DataPlaneHost): string | null {
  const mode = dockerEndpointFromEnv(env);
  if (mode === 'published') return 'ZERODROP_DOCKER_ENDPOINT=published';
  if (mode === 'container' || mode === 'host') return null;
  if (host.platform !== 'linux') return `containers on ${host.platform} are reached through published ports`;
  if (!host.hasDockerBridge()) return 'no docker0 bridge on this host, so containers are likely reached through published ports';
  return null;
}

/** The engine a choice comes to on this machine, and why (said in the plan and the report). */
export function chooseDataPlane(
  choice: DataPlaneChoice,
  runtime: RuntimeName,
  env: NodeJS.ProcessEnv = process.env,
  host: DataPlaneHost = THIS_HOST,
): { engine: DataPlaneEngine; why: string } {
  if (choice !== 'auto') return { engine: choice, why: `engine: ${choice}` };
  if (runtime === 'docker') {
    const behind = behindDockerProxy(env, host);
    if (behind !== null)
      return { engine: 'node', why: `auto: zerodrop's Node proxy (${behind}: behind docker-proxy a crashed zone resets, and the Node proxy ejects the zone)` };
  }
  const a = haproxyAvailability(resolveHaproxyBinary(env));
  if (!a.ok) return { engine: 'node', why: `auto: HAProxy not usable (${a.reason}), zerodrop's Node proxy` };
  const minor = haproxyMinor(a.version);
  if (minor === null || minor < 2.06) return { engine: 'node', why: `auto: ${a.binary} is HAProxy ${a.version} (2.6+ needed), zerodrop's Node proxy` };
  return { engine: 'haproxy', why: `auto: HAProxy ${a.version} at ${a.binary}` };
}
