/**
 * The zerodrop CLI: a thin layer over the programmatic API (scenario → plan → runScenario →
 * reports). Exit codes: 0 pass · 1 a check failed · 2 bad usage or scenario · 3 inconclusive.
 * Progress goes to stderr; with --json the result goes to stdout.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, ZerodropError, errorMessage, isZerodropError } from '../../../common/src/errors.js';
import { toolVersion } from '../paths.js';
import { sharedSdDir, userScrapeConfigYaml } from '../prometheus/config.js';
import { rerender } from '../report/index.js';
import { renderTerminalSummary } from '../report/terminal.js';
import { demoScenarioPath, loadScenario, runScenario } from '../../../index.js';
import { describePlan } from '../scenario/resolve.js';
import { runUp } from '../run/up.js';
import { highestPassingRate } from '../run/passing-rates.js';
import type { RunResult } from '../result/types.js';
import { runCtl } from './ctl.js';
import { parseCli, type Command, type ParsedCli } from './args.js';
import { colorEnabled } from './color.js';
import { commandHelp, globalHelp } from './help.js';
import { runInit } from './init.js';
import { writeLedger } from './ledger-export.js';

export async function main(argv: string[]): Promise<number> {
  let cli: ParsedCli;
  try {
    cli = parseCli(argv);
  } catch (err) {
    return fail(err);
  }
  try {
    switch (cli.command) {
      case 'help': {
        const about = cli.positionals[0] as Command | undefined;
        process.stdout.write(about === undefined ? globalHelp() : commandHelp(about));
        return ExitCode.Pass;
      }
      case 'init':
        return runInit({ command: cli.serviceCommand, image: cli.image, url: cli.url }, cli.positionals[0]);
      case 'version':
        process.stdout.write(`zerodrop ${toolVersion()} (node ${process.version})\n`);
        return ExitCode.Pass;
      case 'validate':
        return validate(cli);
      case 'report':
        return await report(cli);
      case 'run':
      case 'demo':
        return await run(cli);
      case 'up':
        return await runUp(cli, scenarioPath(cli));
      case 'ctl':
        return await runCtl(cli);
      case 'prometheus-config': {
        // The user's Prometheus watches <out>/prometheus-sd/; runs with --prometheus <url> write their targets there.
        const outDir = cli.overrides.outDir ?? 'reports';
        mkdirSync(sharedSdDir(outDir), { recursive: true });
        process.stdout.write(userScrapeConfigYaml(outDir) + '\n');
        return ExitCode.Pass;
      }
    }
  } catch (err) {
    return fail(err);
  }
}

function scenarioPath(cli: ParsedCli): string {
  if (cli.command === 'demo') return demoScenarioPath();
  const file = cli.positionals[0];
  if (!file) {
    throw new ZerodropError('ZD_BAD_USAGE', `zerodrop ${cli.command} needs a scenario file`, {
      fix: `e.g. zerodrop ${cli.command} scenarios/rollout.yaml (scenarios/ holds ready-made ones)`,
    });
  }
  return file;
}

function validate(cli: ParsedCli): number {
  const plan = loadScenario(scenarioPath(cli), cli.overrides);
  process.stdout.write(`${describePlan(plan).join('\n')}\nscenario is valid\n`);
  return ExitCode.Pass;
}

async function report(cli: ParsedCli): Promise<number> {
  const dir = cli.positionals[0];
  if (!dir) throw new ZerodropError('ZD_BAD_USAGE', 'zerodrop report needs a run directory', { fix: 'e.g. zerodrop report reports/demo-20261126-101500-ab12' });
  if (!existsSync(dir))
    throw new ZerodropError('ZD_BAD_USAGE', `no such directory: ${dir}`, { fix: 'pass a reports/<run-id>/ directory that holds a result.json' });
  const { result, artifacts } = await rerender(dir);
  process.stderr.write(`re-rendered ${Object.keys(artifacts).length} files in ${dir}\n`);
  process.stdout.write(
    renderTerminalSummary(result, { reportPath: artifacts['report.html'] ?? join(dir, 'report.html'), color: colorEnabled(process.stdout) }) + '\n',
  );
  return result.exitCode;
}

async function run(cli: ParsedCli): Promise<number> {
  const plan = loadScenario(scenarioPath(cli), cli.overrides);
  const err = process.stderr;
  const color = colorEnabled(err);
  const tty = err.isTTY === true && !cli.quiet;
  const log = (line: string): void => {
    if (cli.quiet) return;
    if (tty) err.write('\r\x1b[2K');
    err.write(`${line}\n`);
  };
  let lastPlain = 0;
  const progress = (line: string, final = false): void => {
    if (cli.quiet) return;
    if (tty) {
      err.write(`\r\x1b[2K${line.slice(0, (err.columns ?? 160) - 1)}${final ? '\n' : ''}`);
      return;
    }
    const now = Date.now();
    if (final || now - lastPlain >= 5000) {
      lastPlain = now;
      err.write(`${line}\n`);
    }
  };
  for (const line of describePlan(plan)) log(line);

  // First Ctrl-C: stop, tear down gracefully, write a report marked incomplete. Second: SIGKILL
  // everything the run started and leave without a report. Not a bare process.exit: replicas
  // would die with us (setpriv --pdeathsig), but containers, HAProxy and Prometheus would not, and
  // a replica's grandchildren would wait for the next run's reaper.
  const abort = new AbortController();
  const kill = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupts++;
    if (interrupts === 1) {
      log(`${signal}: stopping (press Ctrl-C again to kill everything at once)`);
      abort.abort();
      return;
    }
    if (interrupts === 2) {
      log(`${signal} again: killing everything now (Ctrl-C once more to leave without waiting)`);
      kill.abort();
      // The kill is bounded (SIGKILL, container kill); if it still hangs, leave anyway.
      setTimeout(() => process.exit(ExitCode.Inconclusive), 5000).unref();
      return;
    }
    process.exit(ExitCode.Inconclusive);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const outcome = await runScenario(plan, {
      command: ['zerodrop', ...process.argv.slice(2)].join(' '),
      log,
      progress,
      signal: abort.signal,
      kill: kill.signal,
    });
    const htmlPath = outcome.artifacts['report.html'] ?? join(outcome.dir, 'report.html');
    if (cli.ledgerOut !== null) {
      const format = await writeLedger(cli.ledgerOut, outcome.ledger, outcome.origin);
      log(`ledger: ${outcome.ledger.length.toLocaleString('en-US')} requests → ${cli.ledgerOut} (${format})`);
    }
    if (cli.json) process.stdout.write(JSON.stringify(outcome.result, null, 2) + '\n');
    err.write(`\n${renderTerminalSummary(outcome.result, { reportPath: htmlPath, color })}\n`);
    const hint = unreachedRateHint(outcome.result, plan.outDir);
    if (hint !== null) err.write(`${hint}\n`);
    // Killed during the teardown: what is left of it would only hold the event loop open.
    if (kill.signal.aborted) process.exit(outcome.result.exitCode);
    return outcome.result.exitCode;
  } catch (e) {
    if (kill.signal.aborted) {
      // Everything is dead; what is left of the killed run would only hold the event loop open.
      process.exit(fail(e));
    }
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * A run INVALID because this machine could not send the asked rate names the highest rate the same
 * scenario PASSed at here (its report), or how to measure one: a rate measured, never guessed.
 */
function unreachedRateHint(result: RunResult, outDir: string): string | null {
  const rate = result.checks.find((c) => c.id === 'load.rate-reached');
  if (result.verdict !== 'INVALID' || rate?.status !== 'invalid') return null;
  const name = result.run.scenario.name;
  const best = highestPassingRate(outDir, name, result.run.runtime);
  if (best === null) {
    return `  this machine has no PASS of ${name} on record under ${outDir}/: find its zero-drop ceiling with \`npm run bench\`, or try a lower --rate`;
  }
  return `  this machine PASSed ${name} at ${best.rate.toLocaleString('en-US')} req/s (${best.runId}, ${best.endedAt}; ${best.file}): rerun with --rate ${best.rate}`;
}

function fail(err: unknown): number {
  if (isZerodropError(err)) {
    process.stderr.write(`zerodrop: ${err.format()}\n`);
    return err.exitCode;
  }
  process.stderr.write(`zerodrop: internal error: ${errorMessage(err)}\n${err instanceof Error && err.stack ? err.stack + '\n' : ''}`);
  return ExitCode.Inconclusive;
}
