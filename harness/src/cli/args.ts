/**
 * Command-line parsing: node:util parseArgs plus our own checks, so every bad flag is named with
 * its fix and exits 2 before anything starts.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ZerodropError } from '../../../common/src/errors.js';
import { DATA_PLANE_CHOICES, DEFAULT_RUNTIME, isDataPlaneChoice, isRuntimeName, RUNTIME_NAMES } from '../../../orchestrator/index.js';
import { parseDuration } from '../scenario/duration.js';
import type { CliOverrides } from '../scenario/resolve.js';
import { ledgerFormatOf } from './ledger-export.js';

export type Command = 'run' | 'demo' | 'init' | 'up' | 'report' | 'validate' | 'ctl' | 'prometheus-config' | 'help' | 'version';

export interface ParsedCli {
  command: Command;
  positionals: string[];
  overrides: CliOverrides;
  json: boolean;
  quiet: boolean;
  adminPort: number | null;
  admin: string | null;
  mode: string | null;
  /** ctl rollout --image: the image of the new version (docker deployments); init --image: the service's image. */
  image: string | null;
  /** --ledger-out: every request of the run, written as CSV or NDJSON. */
  ledgerOut: string | null;
  /** init --command: the command that starts the user's service. */
  serviceCommand: string | null;
  /** init --url: an already running service (target mode). */
  url: string | null;
}

export const COMMANDS: Command[] = ['run', 'demo', 'init', 'up', 'report', 'validate', 'ctl', 'prometheus-config', 'help', 'version'];

/** Every flag zerodrop accepts (help.ts documents each one: its table is typed against these names). */
export const CLI_OPTIONS = {
  rate: { type: 'string' },
  duration: { type: 'string' },
  connections: { type: 'string' },
  engine: { type: 'string' },
  runtime: { type: 'string' },
  prometheus: { type: 'string' },
  'app-fault': { type: 'string', multiple: true },
  'no-retries': { type: 'boolean' },
  'keep-data': { type: 'boolean' },
  proxy: { type: 'string' },
  out: { type: 'string' },
  'ledger-out': { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  'admin-port': { type: 'string' },
  admin: { type: 'string' },
  mode: { type: 'string' },
  image: { type: 'string' },
  command: { type: 'string' },
  url: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const satisfies ParseArgsConfig['options'];

export type CliOptionName = keyof typeof CLI_OPTIONS;

export function parseCli(argv: string[]): ParsedCli {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: CLI_OPTIONS });
  } catch (err) {
    throw new ZerodropError('ZD_BAD_USAGE', (err as Error).message, { fix: 'run `zerodrop --help` for the options' });
  }
  const { values, positionals } = parsed;
  const [first, ...rest] = positionals;
  if (first !== undefined && !COMMANDS.includes(first as Command)) {
    throw new ZerodropError('ZD_BAD_USAGE', `unknown command "${first}"`, { fix: `use one of: ${COMMANDS.join(', ')} (zerodrop --help)` });
  }
  // `zerodrop run --help` and `zerodrop help run` both print run's help.
  if (values.help) return base('help', first === undefined || first === 'help' ? rest.slice(0, 1) : [first]);
  if (values.version) return base('version', positionals);
  if (first === undefined) return base('help', []);
  const command = first as Command;
  if (command === 'help' && rest[0] !== undefined && !COMMANDS.includes(rest[0] as Command)) {
    throw new ZerodropError('ZD_BAD_USAGE', `no help for "${rest[0]}": not a command`, { fix: `use one of: ${COMMANDS.join(', ')}` });
  }
  const overrides: CliOverrides = {};
  if (values.rate !== undefined) overrides.rate = positiveInt('--rate', values.rate, 'requests per second, e.g. --rate 2000', true);
  if (values.duration !== undefined) {
    const ms = parseDuration(values.duration);
    if (ms === null || ms < 1000) {
      throw new ZerodropError('ZD_BAD_USAGE', `--duration ${values.duration}: not a duration of at least 1s`, {
        fix: 'e.g. --duration 30s, --duration 2m or --duration 1m30s',
      });
    }
    overrides.durationMs = ms;
  }
  if (values.connections !== undefined) overrides.connections = positiveInt('--connections', values.connections, 'e.g. --connections 128', false);
  if (values.engine !== undefined) {
    if (values.engine !== 'open' && values.engine !== 'autocannon') {
      throw new ZerodropError('ZD_BAD_USAGE', `--engine ${values.engine}: unknown engine`, {
        fix: 'use --engine open (constant arrival rate) or --engine autocannon',
      });
    }
    overrides.engine = values.engine;
  }
  if (values.runtime !== undefined) {
    if (!isRuntimeName(values.runtime)) {
      throw new ZerodropError('ZD_BAD_USAGE', `--runtime ${values.runtime}: unknown runtime`, {
        fix: `use --runtime ${RUNTIME_NAMES.join(' or --runtime ')} (default ${DEFAULT_RUNTIME})`,
      });
    }
    overrides.runtime = values.runtime;
  }
  if (values.prometheus !== undefined) {
    const p = values.prometheus;
    if (p !== 'auto' && p !== 'off' && !/^https?:\/\/[^\s]+$/.test(p)) {
      throw new ZerodropError('ZD_BAD_USAGE', `--prometheus ${p}: not auto, off or a URL`, {
        fix: 'e.g. --prometheus auto, or --prometheus http://127.0.0.1:9090',
      });
    }
    overrides.prometheus = p;
  }
  if (values['app-fault']) overrides.appFaults = values['app-fault'];
  if (values['no-retries']) overrides.noRetries = true;
  if (values['keep-data']) overrides.keepData = true;
  if (values.proxy !== undefined) {
    if (!isDataPlaneChoice(values.proxy)) {
      throw new ZerodropError('ZD_BAD_USAGE', `--proxy ${values.proxy}: unknown data plane (one of ${DATA_PLANE_CHOICES.join(', ')})`, {
        fix: "use --proxy auto (HAProxy when installed, else zerodrop's own proxy), --proxy node or --proxy haproxy",
      });
    }
    overrides.proxyEngine = values.proxy;
  }
  if (values.out !== undefined) overrides.outDir = values.out;
  const ledgerOut = values['ledger-out'] ?? null;
  if (ledgerOut !== null) ledgerFormatOf(ledgerOut); // refused now, not after a ten-minute run
  const adminPort = values['admin-port'] === undefined ? null : positiveInt('--admin-port', values['admin-port'], 'a TCP port, e.g. --admin-port 7070', true);
  return {
    command,
    positionals: rest,
    overrides,
    json: values.json ?? false,
    quiet: values.quiet ?? false,
    adminPort,
    admin: values.admin ?? null,
    mode: values.mode ?? null,
    image: values.image ?? null,
    ledgerOut,
    serviceCommand: values.command ?? null,
    url: values.url ?? null,
  };
}

function base(command: Command, positionals: string[]): ParsedCli {
  return {
    command,
    positionals,
    overrides: {},
    json: false,
    quiet: false,
    adminPort: null,
    admin: null,
    mode: null,
    image: null,
    ledgerOut: null,
    serviceCommand: null,
    url: null,
  };
}

function positiveInt(flag: string, text: string, fix: string, allowZero: boolean): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) {
    throw new ZerodropError('ZD_BAD_USAGE', `${flag} ${text}: expected a whole number${allowZero ? '' : ' ≥ 1'}`, { fix });
  }
  return n;
}
