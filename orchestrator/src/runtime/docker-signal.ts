/**
 * Signals to a replica's container: SIGKILL straight from the host when its init pid is known (the
 * engine is a round trip that a busy machine delays), any other signal through the engine, which
 * also thaws a paused container so the signal acts.
 */
import type Docker from 'dockerode';
import { ZerodropError } from '../../../common/src/errors.js';
import type { StopSignal } from '../lifecycle/types.js';
import { killInitFromHost } from './docker-cgroup.js';
import { engineCall, engineMessage } from './docker-engine.js';
import { isNotRunning } from './docker-inspect.js';
import type { DockerReplica } from './docker-replica-io.js';

/** Resolves false when the container was not running any more (already stopped: a success). */
export async function signalContainer(docker: Docker, replica: DockerReplica, signal: StopSignal | 'SIGKILL'): Promise<boolean> {
  if (replica.exit) return false;
  // SIGKILL lands now, from the host (a frozen container is left to the engine, which thaws it).
  if (
    signal === 'SIGKILL' &&
    !replica.paused &&
    replica.cgroup &&
    replica.initPid !== null &&
    killInitFromHost(replica.cgroup, replica.initPid, replica.containerId)
  )
    return true;
  try {
    await engineCall(docker, () => replica.container.kill({ signal }));
  } catch (err) {
    if (/is paused/i.test(engineMessage(err))) {
      // Engines that refuse to signal a paused container ("unpause it first"): thaw, then signal.
      await replica.container.unpause().catch(() => undefined);
      replica.paused = false;
      try {
        await engineCall(docker, () => replica.container.kill({ signal }));
        return true;
      } catch (again) {
        if (isNotRunning(again)) return false;
        throw dockerActionError(replica, `kill -s ${signal}`, again);
      }
    }
    if (isNotRunning(err)) return false; // 304/404/409 not running: already stopped — success
    throw dockerActionError(replica, `kill -s ${signal}`, err);
  }
  if (replica.paused) {
    // 20.10 resumes a paused container after signalling it; others may leave it frozen, and a
    // frozen task (cgroup v1 freezer) does not act on the signal until thawed.
    try {
      await replica.container.unpause();
    } catch {
      // not paused any more (resumed by the engine) or gone
    }
    replica.paused = false;
  }
  return true;
}

/** SIGKILL, with killSent set first: the exit may be reported before the call returns. */
export async function sendKill(docker: Docker, replica: DockerReplica): Promise<void> {
  if (replica.exit) return;
  const already = replica.killSent;
  replica.killSent = true; // before the call: the exit may be reported before the call returns
  const delivered = await signalContainer(docker, replica, 'SIGKILL').catch((err: unknown) => {
    replica.killSent = already;
    throw err;
  });
  if (!delivered && !already) replica.killSent = false; // it had exited by itself
}

export function dockerActionError(replica: DockerReplica, action: string, err: unknown): ZerodropError {
  if (err instanceof ZerodropError) return err;
  return new ZerodropError('ZD_INTERNAL', `docker ${action} ${replica.name} failed: ${engineMessage(err)}`, { cause: err });
}
