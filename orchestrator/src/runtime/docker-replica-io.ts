/**
 * A replica's container as the Docker runtime books it, and what it reads off its attach stream:
 * the log lines (a ring buffer shown in start errors) and the port announcement.
 */
import { PassThrough, type Readable } from 'node:stream';
import type Docker from 'dockerode';
import { ZerodropError } from '../../../common/src/errors.js';
import type { ContainerCgroup } from './docker-cgroup.js';
import type { Sandbox } from './docker-sandbox.js';
import { keepLogLine, type BookedReplica } from './replica-book.js';
import { parseAnnouncement } from './supervised-child.js';

/** killSent: we sent SIGKILL and the engine accepted it while the container ran. */
export interface DockerReplica extends BookedReplica {
  containerId: string;
  container: Docker.Container;
  name: string;
  stdoutListeners: Set<(line: string) => void>;
  /** Settles when the attach stream ended (every log line read). */
  streamEnded: Promise<void>;
  /** Settles when the container was removed after its exit. */
  removed: Promise<void> | null;
  /** Its cgroup and containerd-shim, read once it runs (null where not readable). */
  cgroup: ContainerCgroup | null;
  shimPid: number | null;
  /** The container's init pid on the host (docker-init), for a SIGKILL without the engine. */
  initPid: number | null;
  /** The pod sandbox whose network it joined (docker-sandbox.ts), or null: a namespace of its own. */
  sandbox: Sandbox | null;
}

export function pipeLogs(docker: Docker, replica: DockerReplica, stream: Readable): void {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  docker.modem.demuxStream(stream, stdout, stderr);
  const keep = (out: PassThrough, prefix: string, isStdout: boolean): void => {
    let buffered = '';
    out.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).replace(/\r$/, '');
        buffered = buffered.slice(nl + 1);
        if (line.length === 0) continue;
        keepLogLine(replica.logs, `${prefix}${line}`);
        if (isStdout) for (const listener of replica.stdoutListeners) listener(line);
      }
    });
  };
  keep(stdout, '', true);
  keep(stderr, '[stderr] ', false);
  replica.streamEnded = new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', (err) => {
      replica.logs.push(`[docker] log stream: ${err.message}`);
      resolve();
    });
  });
}

export function waitForAnnouncement(replica: DockerReplica, timeoutMs: number): Promise<{ port: number; adminPort: number | null }> {
  const { launch } = replica;
  return new Promise((resolve, reject) => {
    const onLine = (line: string): void => {
      const found = parseAnnouncement(line.trim());
      if (!found) return;
      cleanup();
      resolve(found);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new ZerodropError(
          'ZD_REPLICA_START_FAILED',
          `replica ${launch.replicaId} (container ${replica.name}) did not announce its port within ${timeoutMs} ms`,
          {
            fix: 'the replica must print {"event":"listening","port":N} on stdout once bound (or use port mode "env")',
          },
        ),
      );
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      replica.stdoutListeners.delete(onLine);
    };
    replica.stdoutListeners.add(onLine);
    void replica.exited.then((exit) => {
      if (!replica.stdoutListeners.has(onLine)) return;
      cleanup();
      reject(
        new ZerodropError(
          'ZD_REPLICA_START_FAILED',
          `replica ${launch.replicaId} (container ${replica.name}) exited before announcing its port (exit code ${exit.code}${exit.signal ? `, ${exit.signal}` : ''})`,
          { fix: 'the last log lines say why; try `docker run --rm <image> <args>`' },
        ),
      );
    });
  });
}
