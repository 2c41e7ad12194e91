/**
 * The Docker engine connection, shared by the docker runtime, the image builder and the reaper:
 * one dockerode client (DOCKER_HOST or /var/run/docker.sock, as the docker CLI), a bounded ping,
 * and the mapping of engine failures onto our error codes. Nothing outside runtime/docker*.ts
 * sees a dockerode type.
 */
import Docker from 'dockerode';
import { ZerodropError, errorCode, errorMessage } from '../../../common/src/errors.js';

/** How to get an engine on the machines zerodrop targets (Debian, root). */
export const ENGINE_FIX = 'install and start the engine: apt-get install -y docker.io && (dockerd >/tmp/dockerd.log 2>&1 &) — then check with `docker info`';

export interface EngineInfo {
  serverVersion: string;
  apiVersion: string;
  cgroupVersion: string;
  /** 'cgroupfs' or 'systemd'. */
  cgroupDriver: string;
  storageDriver: string;
  /** Where dockerode connects (socket path or host:port). */
  endpoint: string;
}

/** A dockerode client configured like the docker CLI (docker-modem reads DOCKER_HOST/DOCKER_TLS_*). */
export function createDockerClient(): Docker {
  return new Docker();
}

function describeEndpoint(docker: Docker): string {
  const modem = docker.modem as { socketPath?: unknown; host?: unknown; port?: unknown };
  if (typeof modem.socketPath === 'string') return modem.socketPath;
  if (typeof modem.host === 'string') return `${modem.host}:${typeof modem.port === 'number' || typeof modem.port === 'string' ? String(modem.port) : ''}`;
  return 'the default Docker socket';
}

/** HTTP status of a dockerode error (304, 404, 409, 500...), if it has one. */
export function engineStatus(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'statusCode' in err) {
    const code = err.statusCode;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

/** The engine's own error text (its JSON `message`), else the error message. */
export function engineMessage(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'json' in err) {
    const json = err.json;
    if (typeof json === 'object' && json !== null && 'message' in json) {
      const message = json.message;
      if (typeof message === 'string') return message;
    }
  }
  return errorMessage(err)
    .replace(/^\(HTTP code \d+\)\s*[\w ]*-\s*/, '')
    .trim();
}

/** True when the engine cannot be reached at all (no socket, refused, permission). */
export function isConnectionError(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT';
}

export function unavailableError(docker: Docker, err: unknown): ZerodropError {
  const code = errorCode(err);
  const where = describeEndpoint(docker);
  const why =
    code === 'ENOENT'
      ? `no Docker socket at ${where} (is dockerd installed and running?)`
      : code === 'ECONNREFUSED'
        ? `nothing answers on ${where} (dockerd is not running)`
        : code === 'EACCES'
          ? `permission denied on ${where}`
          : `${where}: ${errorMessage(err)}`;
  return new ZerodropError('ZD_RUNTIME_UNAVAILABLE', `the docker runtime needs a Docker engine: ${why}`, {
    fix: code === 'EACCES' ? 'run as root or add the user to the "docker" group' : ENGINE_FIX,
    cause: err,
  });
}

/** Pings the engine (bounded) and reads what we report about it. Throws ZD_RUNTIME_UNAVAILABLE. */
export async function connectEngine(docker: Docker, timeoutMs = 5000): Promise<EngineInfo> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
    timer.unref();
  });
  try {
    await Promise.race([docker.ping(), timeout]);
    const [version, info] = (await Promise.race([Promise.all([docker.version(), docker.info()]), timeout])) as [
      { Version?: string; ApiVersion?: string },
      { CgroupVersion?: string; CgroupDriver?: string; Driver?: string },
    ];
    return {
      serverVersion: version.Version ?? '?',
      apiVersion: version.ApiVersion ?? '?',
      cgroupVersion: info.CgroupVersion ?? '?',
      cgroupDriver: info.CgroupDriver ?? '?',
      storageDriver: info.Driver ?? '?',
      endpoint: describeEndpoint(docker),
    };
  } catch (err) {
    throw unavailableError(docker, err);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs an engine call; a lost connection becomes ZD_RUNTIME_UNAVAILABLE, anything else is rethrown. */
export async function engineCall<T>(docker: Docker, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isConnectionError(err)) throw unavailableError(docker, err);
    throw err;
  }
}
