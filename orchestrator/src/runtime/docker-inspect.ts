/**
 * What the Docker runtime reads off the engine's answers: whether an error means "not running",
 * the published and bridge addresses of a container, and the signal behind an exit status.
 */
import { constants as osConstants } from 'node:os';
import type Docker from 'dockerode';
import { engineMessage, engineStatus } from './docker-engine.js';

const LOOPBACK = '127.0.0.1';

/** A wait that never holds the process open. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** 304 (already stopped), 404 (gone), 409 "is not running": the container is not running. */
export function isNotRunning(err: unknown): boolean {
  const status = engineStatus(err);
  if (status === 304 || status === 404) return true;
  return status === 409 && /not running|is restarting|removal .* in progress|is dead/i.test(engineMessage(err));
}

/** container port → host port, for the tcp ports bound on 127.0.0.1. */
export function publishedPorts(info: Docker.ContainerInspectInfo): Map<number, number> {
  const out = new Map<number, number>();
  const ports = (info.NetworkSettings?.Ports ?? {}) as Record<string, Array<{ HostIp: string; HostPort: string }> | null>;
  for (const [key, bindings] of Object.entries(ports)) {
    if (!key.endsWith('/tcp') || !bindings) continue;
    const binding = bindings.find((b) => b.HostIp === LOOPBACK) ?? bindings[0];
    const host = Number(binding?.HostPort);
    if (Number.isInteger(host) && host > 0) out.set(Number.parseInt(key, 10), host);
  }
  return out;
}

/** Exit status 128+n → the signal's name (docker-init reports a signalled child that way). */
export function signalOf(code: number | null): string | null {
  if (code === null || code <= 128 || code > 128 + 64) return null;
  const n = code - 128;
  for (const [name, value] of Object.entries(osConstants.signals)) if (value === n) return name;
  return null;
}

/** The container's IPv4 address on its (bridge) network, or null. */
export function containerAddress(info: Docker.ContainerInspectInfo): string | null {
  const direct = (info.NetworkSettings as { IPAddress?: string } | undefined)?.IPAddress;
  if (direct) return direct;
  for (const net of Object.values(info.NetworkSettings?.Networks ?? {})) if (net.IPAddress) return net.IPAddress;
  return null;
}
