/**
 * Runs a command as a child process with a deadline, keeping the tail of its stderr: the preStop
 * `exec` hook of the process runtime (and, later, timeline exec steps).
 */
import { spawn } from 'node:child_process';
import { monotonicMs } from '../../../common/src/clock.js';
import type { ExecResult } from './types.js';

const STDERR_LINES = 20;

export function execWithDeadline(command: string[], options: { env: NodeJS.ProcessEnv; timeoutMs: number; cwd?: string }): Promise<ExecResult> {
  const started = monotonicMs();
  return new Promise((resolve) => {
    const [file, ...args] = command;
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const done = (exitCode: number | null, error: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const lines = stderr
        .split('\n')
        .map((l) => l.trimEnd())
        .filter((l) => l.length > 0);
      resolve({ exitCode, timedOut, stderrTail: lines.slice(-STDERR_LINES), error, durationMs: monotonicMs() - started });
    };
    const child = spawn(file as string, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-16_384);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid === undefined) return; // never started: 'error' settles it
      try {
        process.kill(-child.pid, 'SIGKILL'); // its own group: whatever it started goes too
      } catch {
        child.kill('SIGKILL');
      }
    }, options.timeoutMs);
    child.once('error', (err: NodeJS.ErrnoException) => done(null, err.code === 'ENOENT' ? `command not found: ${String(file)}` : (err.code ?? err.message)));
    child.once('close', (code) => done(timedOut ? null : code, null));
  });
}
