/**
 * The CLI runs the harness as a session of its own (docs/architecture.md, "CPU priorities").
 *
 * With kernel.sched_autogroup_enabled every session is one scheduling group, ranked by its
 * autogroup's nice; thread nice values only rank threads inside it. The harness (driver, Node
 * proxy) must outrank the replicas, and every replica, HAProxy and Prometheus leads a session of
 * its own. The harness's session is the shell's or the CI job's, shared with every other run
 * started from it: renicing it raced those runs and outlived a SIGKILLed one. So `run`, `demo` and
 * `up` start the harness again as a child that leads a new session (spawn detached), whose
 * autogroup priorities.ts may then set, and wait for it:
 *   - the child's exit code is the CLI's; a child killed by a signal kills the CLI with it;
 *   - SIGINT, SIGTERM and SIGHUP are passed on (the child is no longer in the terminal's
 *     foreground process group, so Ctrl-C reaches only this process);
 *   - the child runs under `setpriv --pdeathsig SIGKILL`: killing this process kills the harness,
 *     exactly as killing the harness did before (its replicas die by pdeathsig in turn; containers
 *     wait for the next run's reaper).
 * Only where it changes something: Linux with autogroups, CPU priorities on, root (the negative
 * nice needs CAP_SYS_NICE), setpriv present, and not already a session leader.
 * ZERODROP_OWN_SESSION=off keeps the harness in the caller's session.
 */
import { spawn } from 'node:child_process';
// common/, not orchestrator/index.ts: this process only waits, so it loads next to nothing.
import { autogroupsEnabled, CPU_PRIORITIES_ENV, hasSetprivPdeathsig, leadsOwnSession, withPdeathsig } from '../../../common/src/session.js';

export const OWN_SESSION_ENV = 'ZERODROP_OWN_SESSION';
/** Set in the child, so it does not start itself again. */
const CHILD_MARK = 'child';
const HARNESS_COMMANDS = new Set(['run', 'demo', 'up']);
const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Whether this CLI invocation should run its harness as a session of its own (see the header). */
export function wantsOwnSession(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  if (!HARNESS_COMMANDS.has(argv[0] ?? '') || argv.includes('--help') || argv.includes('-h')) return false;
  return ownSessionChangesRank(env);
}

/** A session of its own would change the harness's CPU rank here, and nobody said otherwise (the bench asks too). */
export function ownSessionChangesRank(env: NodeJS.ProcessEnv = process.env): boolean {
  const mode = env[OWN_SESSION_ENV];
  if (mode === CHILD_MARK || mode === 'off') return false;
  if (process.platform !== 'linux' || typeof process.getuid !== 'function' || process.getuid() !== 0) return false;
  // Off leaves every nice alone, so there is nothing to rank; a bad value is the harness's usage error.
  if (env[CPU_PRIORITIES_ENV]?.trim() === 'off') return false;
  return autogroupsEnabled() && !leadsOwnSession() && hasSetprivPdeathsig();
}

/**
 * Runs this CLI again (same node, flags and arguments) as a session of its own; resolves with its
 * exit code. A child killed by a signal is re-raised here, so the caller sees the same death.
 */
export function runInOwnSession(script: string, argv: readonly string[]): Promise<number> {
  const [file, ...args] = withPdeathsig([process.execPath, ...process.execArgv, script, ...argv]);
  const child = spawn(file as string, args, {
    detached: true,
    stdio: 'inherit',
    env: { ...process.env, [OWN_SESSION_ENV]: CHILD_MARK },
  });
  const forward = (signal: NodeJS.Signals): void => {
    if (child.pid !== undefined) child.kill(signal);
  };
  for (const s of FORWARDED) process.on(s, forward);
  const stopForwarding = (): void => {
    for (const s of FORWARDED) process.off(s, forward);
  };
  return new Promise((resolve) => {
    child.once('error', (err) => {
      stopForwarding();
      process.stderr.write(
        `zerodrop: could not start the harness in a session of its own (${err.message}); set ${OWN_SESSION_ENV}=off to run it in this one\n`,
      );
      resolve(3);
    });
    child.once('exit', (code, signal) => {
      stopForwarding();
      if (signal !== null) process.kill(process.pid, signal);
      else resolve(code ?? 3);
    });
  });
}
