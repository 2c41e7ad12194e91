/**
 * exec steps end to end, in a real run under load: the step's check is judged from the command's
 * own exit (FAIL, exit 1, with its exit code and stderr tail in the report), and a command that
 * does not exist makes the run INVALID (exit 3) with the fix, never PASS.
 */
import { describe, expect, it } from 'vitest';
import { checkOf, explain, runYaml } from '../helpers/scenario-run.js';

const RUN = (command: string) => `
name: exec-step
deployment: { replicas: 2, zones: [a, b] }
load: { rate: 150, duration: 4s, warmup: 1s, timeout: 4s }
timeline:
  - { at: 1500ms, action: exec, command: ${command}, timeout: 2s }
`;

describe('exec steps under load', () => {
  it('a deploy command that fails FAILs its step check (exit 1), with the exit code and stderr tail', async () => {
    const { result } = await runYaml(RUN('[sh, -c, "echo deploy: image not found >&2; exit 7"]'));
    expect(result.verdict, explain(result)).toBe('FAIL');
    expect(result.exitCode).toBe(1);
    const c = checkOf(result, 'events.1-exec');
    expect(c.status).toBe('fail');
    expect(c.actual).toContain('exited 7');
    expect(c.actual).toContain('stderr: deploy: image not found');
    // Nothing else broke: the service took the load.
    expect(checkOf(result, 'ledger.no-failed-requests').status).toBe('pass');
    expect(result.disruption.events.map((e) => e.kind)).toEqual(['exec']);
  });

  it('a command that is not found is INVALID (exit 3) with the fix', async () => {
    const { result } = await runYaml(RUN('[zerodrop-no-such-deploy-tool]'));
    expect(result.verdict, explain(result)).toBe('INVALID');
    expect(result.exitCode).toBe(3);
    const c = checkOf(result, 'events.1-exec');
    expect(c.status).toBe('invalid');
    expect(c.actual).toContain('command not found: zerodrop-no-such-deploy-tool');
    expect(c.actual).toContain('fix: install it');
  });
});
