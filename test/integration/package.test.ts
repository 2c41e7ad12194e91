/**
 * zerodrop as people install it: the packed tarball, installed into an empty project, used from
 * there through `npx zerodrop` and `import 'zerodrop'`, exactly as the README says.
 *
 * Offline on purpose: every dependency tarball is in the npm cache after the `npm ci` that
 * precedes `npm test`, and `--offline` makes a cache miss fail at once (ENOTCACHED) instead of
 * reaching for a registry. `npm ci` keeps tarballs, not registry metadata, so the project gets a
 * lock file (what a user's CI has too): zerodrop's production entries of this repository's lock,
 * plus the tarball itself, installed with `npm ci --offline`. The tarball is packed with --ignore-scripts because `npm test` has just built dist/
 * (prepack would run the same `npm run build` again, ~30 s on 2 cores); the prepack script itself
 * is asserted below. Everything lives in one temporary directory, removed at the end.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processesOfRun } from '../helpers/scenario-run.js';
import { expectPassOrStarved } from '../helpers/verdict.js';

const ROOT = join(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  scripts: Record<string, string>;
  files: string[];
  exports: Record<string, unknown>;
  os: string[];
  license: string;
};

/** The environment of a user's shell: none of the npm_* variables `npm test` put in ours (they would point npx at this repository). */
function userEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  return { ...env, npm_config_offline: 'true', npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', NO_COLOR: '1' };
}

interface LockEntry {
  version?: string;
  dev?: boolean;
  dependencies?: Record<string, string>;
  [k: string]: unknown;
}

/** A lock file for an empty project that depends on the tarball: the repository lock's production entries. */
function projectLock(tarballSpec: string, tarball: string): object {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const self = lock.packages['']!;
  const packages: Record<string, LockEntry> = {
    '': { name: 'my-project', version: '1.0.0', dependencies: { zerodrop: tarballSpec } },
    'node_modules/zerodrop': {
      version: pkg.version,
      resolved: tarballSpec,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
      license: pkg.license,
      os: pkg.os,
      dependencies: self.dependencies ?? {},
      bin: { zerodrop: 'bin/zerodrop.js' },
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) if (path.startsWith('node_modules/') && !entry.dev) packages[path] = entry;
  return { name: 'my-project', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

function sh(cmd: string, args: string[], cwd: string, timeoutMs: number): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env: userEnv(), encoding: 'utf8', timeout: timeoutMs });
}

function explain(r: SpawnSyncReturns<string>): string {
  return `exit ${r.status} ${r.signal ?? ''}\n--- stdout\n${r.stdout?.slice(-3000)}\n--- stderr\n${r.stderr?.slice(-3000)}`;
}

describe('the npm package, installed into an empty project', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'zd-package-'));
  const project = join(tmp, 'my-project');
  let files: string[] = [];
  let tarball = '';

  beforeAll(() => {
    expect(existsSync(join(ROOT, 'dist/index.js')), 'dist/ is missing: npm run build (npm test does it)').toBe(true);
    const packed = sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], ROOT, 120_000);
    expect(packed.status, explain(packed)).toBe(0);
    const info = (JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[])[0]!;
    tarball = join(tmp, info.filename);
    files = info.files.map((f) => f.path);
    mkdirSync(project);
    const spec = `file:../${info.filename}`;
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'my-project', version: '1.0.0', private: true, type: 'module', dependencies: { zerodrop: spec } }, null, 2),
    );
    writeFileSync(join(project, 'package-lock.json'), JSON.stringify(projectLock(spec, tarball), null, 2));
    const installed = sh('npm', ['ci', '--offline', '--no-audit', '--no-fund'], project, 180_000);
    expect(installed.status, explain(installed)).toBe(0);
  }, 300_000);

  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  it('ships the built code, its types, scenarios, sample-app, Grafana assets, examples, the action, LICENSE and CHANGELOG; no tests, no sources', () => {
    for (const f of [
      'package.json',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
      'action.yml',
      'bin/zerodrop.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/harness/src/cli/main.js',
      'dist/harness/src/result/types.d.ts',
      'dist/sample-app/src/main.js',
      'dist/orchestrator/index.js',
      'dist/contract/index.js',
      'dist/common/src/errors.js',
      'scenarios/demo.yaml',
      'grafana/dashboards/zerodrop.json',
      'grafana/provisioning/datasources/prometheus.yaml',
      'examples/byo-server.mjs',
    ]) {
      expect(files, f).toContain(f);
    }
    const shipped = (re: RegExp): string[] => files.filter((f) => re.test(f));
    expect(shipped(/(^|\/)test\/|\.test\.|fixtures/)).toEqual([]);
    expect(shipped(/(?<!\.d)\.ts$/)).toEqual([]);
    expect(shipped(/\.map$/)).toEqual([]);
    expect(shipped(/^dist\/scripts\//)).toEqual([]);
    expect(shipped(/^(reports|node_modules|\.ci|\.github)\//)).toEqual([]);
  });

  it('package.json: builds on prepack, exports typed entry points, linux only, Apache-2.0 like its LICENSE', () => {
    expect(pkg.scripts['prepack']).toBe('npm run clean && npm run build'); // a fresh build: nothing stale in dist/ ships
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    expect(pkg.os).toEqual(['linux']);
    expect(pkg.license).toBe('Apache-2.0');
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0, January 2004/);
    const build = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { exclude: string[]; include: string[] };
    expect(build.exclude).toContain('**/*.test.ts');
    expect(build.include.some((p) => p.startsWith('test/') || p.includes('/test/'))).toBe(false);
  });

  it('the programmatic API imports and type-checks from the installed package', () => {
    writeFileSync(
      join(project, 'check.ts'),
      [
        "import { loadScenario, demoScenarioPath, ZerodropError, type RunOutcome, type RunResult, type Verdict } from 'zerodrop';",
        'const plan = loadScenario(demoScenarioPath(), { rate: 1000 });',
        'const verdict: Verdict = "PASS";',
        'export const rate: number = plan.driver.rate;',
        'export type R = RunResult["checks"][number]["id"];',
        'export type O = RunOutcome["result"]["verdict"];',
        'export const isError = (e: unknown): boolean => e instanceof ZerodropError && verdict === "PASS";',
        '// @ts-expect-error: the typed API rejects an unknown override',
        'loadScenario(demoScenarioPath(), { rat: 1 });',
      ].join('\n'),
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: [] },
        files: ['check.ts'],
      }),
    );
    const tsc = sh(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], project, 120_000);
    expect(tsc.status, explain(tsc)).toBe(0);
    const run = sh(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const z = await import('zerodrop'); const p = z.loadScenario(z.demoScenarioPath(), { rate: 1000 }); console.log(JSON.stringify({ rate: p.driver.rate, fns: ['loadScenario', 'runScenario', 'initScenario', 'writeLedger'].map((n) => typeof z[n]) }));",
      ],
      project,
      30_000,
    );
    expect(run.status, explain(run)).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ rate: 1000, fns: ['function', 'function', 'function', 'function'] });
  });

  it('`npx zerodrop validate` on a broken scenario: exit 2, every bad field named', () => {
    writeFileSync(join(project, 'broken.yaml'), 'load:\n  rate: fast\n  durration: 10s\n');
    const r = sh('npx', ['--no', 'zerodrop', 'validate', 'broken.yaml'], project, 60_000);
    expect(r.status, explain(r)).toBe(2);
    expect(r.stderr).toContain('ZD_BAD_SCENARIO');
    expect(r.stderr).toMatch(/broken\.yaml:2:\d+ +load\.rate/);
    expect(r.stderr).toMatch(/did you mean "duration"/);
  });

  it("`npx zerodrop init` writes a scenario that validates, and `npx zerodrop run --help` is the command's own page", () => {
    const init = sh('npx', ['--no', 'zerodrop', 'init', '--command', 'node server.js'], project, 60_000);
    expect(init.status, explain(init)).toBe(0);
    expect(init.stdout.trim()).toBe('zerodrop run zerodrop.yaml');
    const again = sh('npx', ['--no', 'zerodrop', 'init', '--command', 'node server.js'], project, 60_000);
    expect(again.status).toBe(2);
    const valid = sh('npx', ['--no', 'zerodrop', 'validate', 'zerodrop.yaml'], project, 60_000);
    expect(valid.status, explain(valid)).toBe(0);
    const help = sh('npx', ['--no', 'zerodrop', 'run', '--help'], project, 60_000);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: zerodrop run <scenario\.yaml>/);
    expect(help.stdout).toContain('--ledger-out');
  });

  it('`npx zerodrop demo --rate 1000`: PASS (or INVALID for a starved machine, never FAIL), the reports and the ledger in the project, nothing left running', () => {
    const r = sh(
      'npx',
      ['--no', 'zerodrop', 'demo', '--rate', '1000', '--duration', '12s', '--out', 'reports', '--ledger-out', 'ledger.csv', '--json'],
      project,
      120_000,
    );
    const result = JSON.parse(r.stdout || '{}') as { verdict: string; run?: { id: string }; checks: { id: string; status: string; actual: string }[] };
    // PASS, or INVALID because the machine starved the instrument (never FAIL): test/helpers/verdict.ts.
    const verdict = expectPassOrStarved({ verdict: result.verdict ?? 'none', checks: result.checks ?? [] }, explain(r));
    expect(r.status, explain(r)).toBe(verdict === 'PASS' ? 0 : 3);
    const dir = join(project, 'reports', result.run!.id);
    for (const f of ['result.json', 'report.md', 'report.html', 'junit.xml', 'bench-bigger.json', 'bench-smaller.json']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    expect(readFileSync(join(project, 'reports', 'latest', 'result.json'), 'utf8')).toContain(result.run!.id);
    expect(r.stderr).toMatch(verdict === 'PASS' ? /PASS/ : /INVALID/);
    // Every request, warm-up included: at least the measured window's, each with its own id.
    const ledger = readFileSync(join(project, 'ledger.csv'), 'utf8').trimEnd().split('\n');
    expect(ledger[0]).toBe('id,seq,t_ms,send_lag_ms,latency_ms,outcome,status,replica,attempts');
    const load = (result as unknown as { load: { sent: number; ok: number } }).load;
    expect(ledger.length - 1).toBeGreaterThanOrEqual(load.sent);
    expect(ledger.filter((l) => l.includes(',ok,200,')).length).toBeGreaterThanOrEqual(load.ok);
    expect(ledger[1]).toMatch(new RegExp(`^${result.run!.id}-0,0,`));
    expect(processesOfRun(result.run!.id)).toEqual([]);
  });
});
