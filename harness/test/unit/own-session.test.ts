/**
 * When the CLI runs its harness as a session of its own (cli/own-session.ts): only for the
 * commands that run one, never twice, never when asked not to or when it would change nothing.
 */
import { expect, it } from 'vitest';
import { OWN_SESSION_ENV, wantsOwnSession } from '../../src/cli/own-session.js';
import { autogroupsEnabled, hasSetprivPdeathsig, leadsOwnSession } from '../../../common/src/session.js';

const root = typeof process.getuid === 'function' && process.getuid() === 0;
/** Whether it would change anything on this machine (root, autogroups, setpriv, not a leader already). */
const useful = process.platform === 'linux' && root && autogroupsEnabled() && hasSetprivPdeathsig() && !leadsOwnSession();

it('run, demo and up, where it changes the harness rank; never other commands or their help', () => {
  for (const cmd of ['run', 'demo', 'up']) expect(wantsOwnSession([cmd, 'x.yaml'], {}), cmd).toBe(useful);
  for (const argv of [['validate', 'x.yaml'], ['report', 'dir'], ['version'], ['run', '--help'], ['demo', '-h'], []]) {
    expect(wantsOwnSession(argv, {}), argv.join(' ')).toBe(false);
  }
});

it('never in the child itself, never with ZERODROP_OWN_SESSION=off or CPU priorities off', () => {
  expect(wantsOwnSession(['run', 'x.yaml'], { [OWN_SESSION_ENV]: 'child' })).toBe(false);
  expect(wantsOwnSession(['run', 'x.yaml'], { [OWN_SESSION_ENV]: 'off' })).toBe(false);
  expect(wantsOwnSession(['run', 'x.yaml'], { ZERODROP_CPU_PRIORITIES: 'off' })).toBe(false);
  // A bad value is the harness's usage error (exit 2), reported by the child.
  expect(wantsOwnSession(['run', 'x.yaml'], { ZERODROP_CPU_PRIORITIES: 'harness=oops' })).toBe(useful);
  expect(wantsOwnSession(['run', 'x.yaml'], { ZERODROP_CPU_PRIORITIES: 'harness=-3' })).toBe(useful);
});
