/**
 * How the harness reaches a container: on its bridge address (kernel-forwarded, no docker-proxy
 * hop) or on its port published on 127.0.0.1 (every connection relayed by the engine's userland
 * docker-proxy, a CPU core at a few thousand req/s on small machines). Mode 'auto' (the default)
 * decides once per run, on the first container that announced its port: a TCP connect to
 * <bridge ip>:<port> from here. It works on Linux with the default bridge; Docker Desktop (a VM)
 * and rootless engines cannot route to it, and fall back to the published port.
 */
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { ZerodropError } from '../../../common/src/errors.js';
import type { PodTemplate } from '../spec.js';

export type DockerEndpointMode = 'auto' | 'published' | 'container' | 'host';
export const DOCKER_ENDPOINT_MODES: readonly DockerEndpointMode[] = ['auto', 'published', 'container', 'host'];
/**
 * 'host': the containers share the host's network namespace (`--network host`) and each listens on
 * 127.0.0.1 on a port the kernel gives it, which it announces (the sample-app does). No namespace,
 * veth, bridge port or iptables rule is made per container: `docker run -d` of a container that only
 * sleeps cost 560 ms of machine CPU against 900 on the bridge (2-core VM, 5 containers each, two
 * rounds), the largest part of the engine's share of a boot (docs/architecture.md, "Container networks").
 * The price is isolation: a replica can reach the host's loopback services. Opt-in.
 */
export const HOST_NETWORK_LISTEN = '127.0.0.1';

/**
 * Whether a replica can live on the host's network: its command binds the {host} and {port} it is
 * given (filled in per network, docker-container-spec.ts) and it announces the port it got. A
 * literal port would be every replica's, on every interface.
 */
export function listensWhereTold(t: Pick<PodTemplate, 'port' | 'command'>): boolean {
  const cmd = t.command ?? [];
  return t.port.mode === 'announce' && cmd.some((a) => a.includes('{port}')) && cmd.some((a) => a.includes('{host}'));
}

/**
 * Why ZERODROP_DOCKER_ENDPOINT=host cannot serve this run, or null: checked at plan time, so a run
 * that cannot work is refused (exit 2) before anything starts. It needs the engine in this network
 * namespace (Linux; not Docker Desktop's VM) and a template that listensWhereTold (the sample-app),
 * not an image on a fixed port.
 */
export function hostNetworkRefusal(
  o: { runtime: string; template: Pick<PodTemplate, 'port' | 'command'> },
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string | null {
  if (o.runtime !== 'docker' || dockerEndpointFromEnv(env) !== 'host') return null;
  if (platform !== 'linux') return `ZERODROP_DOCKER_ENDPOINT=host: on ${platform} the engine runs in a VM, whose network this host cannot reach on 127.0.0.1`;
  if (!listensWhereTold(o.template))
    return "ZERODROP_DOCKER_ENDPOINT=host: the target's image listens on a fixed port; on the host's network every replica would take the same one";
  return null;
}
/**
 * The bridge when it answers (`auto`). A crashed container's bridge address no longer answers;
 * measured on the demo (2-core VM, 1,500-2,000 req/s), its in-flight and new requests failed as
 * resets and connect errors, retried within 120-360 ms, never a connect timeout. Docker crash
 * runs that lost requests kept `published` the default while unexplained; one cause found since,
 * three tries landing in one dead zone, is gone (the Node proxy's retries prefer another zone,
 * proxy/endpoints.ts). Published ports cost a
 * docker-proxy hop: the demo FAILed at 2,000 req/s there (3,057 per-try timeouts), PASSed at 1,500
 * (2 of 2) on the bridge.
 */
export const DEFAULT_DOCKER_ENDPOINT: DockerEndpointMode = 'auto';

function isDockerEndpointMode(x: unknown): x is DockerEndpointMode {
  return typeof x === 'string' && (DOCKER_ENDPOINT_MODES as readonly string[]).includes(x);
}

/**
 * ZERODROP_DOCKER_ENDPOINT, validated; unset, DEFAULT_DOCKER_ENDPOINT. The one place it is read:
 * the runtime, the data plane's choice and the plan's checks all ask here.
 */
export function dockerEndpointFromEnv(env: NodeJS.ProcessEnv = process.env): DockerEndpointMode {
  const raw = env['ZERODROP_DOCKER_ENDPOINT'];
  if (raw === undefined || raw === '') return DEFAULT_DOCKER_ENDPOINT;
  if (isDockerEndpointMode(raw)) return raw;
  throw new ZerodropError('ZD_BAD_USAGE', `ZERODROP_DOCKER_ENDPOINT=${raw} is not an endpoint mode`, {
    fix: `set it to one of ${DOCKER_ENDPOINT_MODES.join(', ')} (or unset it: ${DEFAULT_DOCKER_ENDPOINT})`,
  });
}

/** The engine's default bridge is an interface of this network namespace: without it `auto` cannot reach a container's address. */
export function hasDockerBridge(): boolean {
  return existsSync('/sys/class/net/docker0');
}

/** What the run uses, and why (it goes in the report). */
export interface EndpointChoice {
  use: 'container' | 'published' | 'host';
  why: string;
}

const PROBE_TIMEOUT_MS = 1000;

/**
 * Resolves true when host:port is routable from here: the connection opens, or the container's
 * kernel refuses it (a replica not listening yet still proves the route).
 */
export function tcpReachable(host: string, port: number, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED'));
  });
}

/** Decides once (the first container's probe), then answers every later container the same. */
export class EndpointChooser {
  private choice: Promise<EndpointChoice> | null = null;
  private settled: EndpointChoice | null = null;

  constructor(
    private readonly mode: DockerEndpointMode,
    private readonly reachable: (host: string, port: number) => Promise<boolean> = tcpReachable,
    private readonly platform: NodeJS.Platform = process.platform,
  ) {}

  /** The choice made so far (null before the first container). */
  current(): EndpointChoice | null {
    return this.settled;
  }

  /** address: the container's bridge address (or null); port: the port it listens on in the container. */
  choose(address: string | null, port: number): Promise<EndpointChoice> {
    this.choice ??= this.decide(address, port).then((c) => (this.settled = c));
    return this.choice;
  }

  private async decide(address: string | null, port: number): Promise<EndpointChoice> {
    if (this.mode === 'published') return { use: 'published', why: 'ZERODROP_DOCKER_ENDPOINT=published' };
    if (this.mode === 'container') return { use: 'container', why: 'ZERODROP_DOCKER_ENDPOINT=container' };
    if (this.mode === 'host') return { use: 'host', why: `ZERODROP_DOCKER_ENDPOINT=host: the host's network, ${HOST_NETWORK_LISTEN} and an announced port` };
    if (this.platform !== 'linux')
      return { use: 'published', why: `auto: ${this.platform} cannot route to the engine's bridge (a VM), published 127.0.0.1 ports` };
    if (address === null) return { use: 'published', why: 'auto: the first container has no bridge address, published 127.0.0.1 ports' };
    if (await this.reachable(address, port))
      return { use: 'container', why: `auto: the first container answered a TCP connect on its bridge address ${address}:${port}` };
    return {
      use: 'published',
      why: `auto: no TCP connect to the first container's bridge address ${address}:${port} within ${PROBE_TIMEOUT_MS} ms, published 127.0.0.1 ports`,
    };
  }
}
