/**
 * A preStop exec hook in a container: `docker exec` (the container's environment and user),
 * bounded by a timeout, reported as an ExecResult (exit code, stderr tail, not found).
 */
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { errorMessage } from '../../../common/src/errors.js';
import { monotonicMs } from '../../../common/src/clock.js';
import { engineCall } from './docker-engine.js';
import type { ExecResult } from '../lifecycle/types.js';

const NOT_FOUND = /executable file not found|no such file/i;

export async function execInContainer(docker: Docker, container: Docker.Container, command: string[], timeoutMs: number): Promise<ExecResult> {
  const started = monotonicMs();
  const result = (exitCode: number | null, timedOut: boolean, stderr: string, error: string | null): ExecResult => ({
    exitCode,
    timedOut,
    stderrTail: stderr
      .split('\n')
      .map((l) => l.trimEnd())
      .filter((l) => l.length > 0)
      .slice(-20),
    error,
    durationMs: monotonicMs() - started,
  });
  try {
    const exec = await engineCall(docker, () => container.exec({ Cmd: command, AttachStdout: true, AttachStderr: true }));
    const stream = await engineCall(docker, () => exec.start({ hijack: true, stdin: false }));
    let stderr = '';
    const out = new PassThrough();
    const err = new PassThrough();
    out.resume();
    err.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-16_384)));
    docker.modem.demuxStream(stream, out, err);
    const ended = new Promise<boolean>((resolve) => {
      stream.once('end', () => resolve(true));
      stream.once('close', () => resolve(true));
      stream.once('error', () => resolve(true));
    });
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([ended, new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))]);
    clearTimeout(timer);
    if (!finished) {
      stream.destroy();
      return result(null, true, stderr, null);
    }
    const info = await engineCall(docker, () => exec.inspect());
    // 126/127: the shell's "cannot execute" / "not found", as docker exec reports them.
    const notFound = info.ExitCode === 127 || info.ExitCode === 126 || NOT_FOUND.test(stderr);
    return result(info.ExitCode ?? null, false, stderr, notFound ? `command not found: ${String(command[0])}` : null);
  } catch (e) {
    const message = errorMessage(e);
    return result(null, false, '', NOT_FOUND.test(message) ? `command not found: ${String(command[0])}` : message);
  }
}
