/**
 * A deadline for a whole HTTP request, connect included. `req.setTimeout` only starts counting
 * once the socket is connected, so a connect that is never answered (a container whose network
 * namespace is gone: its SYNs go to an address nobody holds any more) waited for the kernel's SYN
 * retries, 20 s and more, instead of the caller's timeout.
 */
import type { ClientRequest } from 'node:http';

/** Destroys `req` (with `error()` when given) unless it has closed within `ms`. */
export function requestDeadline(req: ClientRequest, ms: number, error?: () => Error): void {
  const timer = setTimeout(() => req.destroy(error?.()), ms);
  timer.unref();
  req.once('close', () => clearTimeout(timer));
}
