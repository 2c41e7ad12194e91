/**
 * Command-line parsing: node:util parseArgs plus our own checks, so every bad flag is named with
 * its fix and exits 2 before anything starts.
 */
import { parseArgs } from 'node:util';
import { ZerodropError } from '../../../common/src/errors.js';
import { DATA_PLANE_ENGINES, DEFAULT_RUNTIME, isDataPlaneEngine, isRuntimeName, RUNTIME_NAMES } from '../../../orchestrator/index.js';
import { parseDuration } from '../scenario/duration.js';
import type { CliOverrides } from '../scenario/resolve.js';

export type Command = 'run' | 'demo' | 'up' | 'report' | 'validate' | 'ctl' | 'prometheus-config' | 'help' | 'version';

export interface ParsedCli {
  command: Command;
  positionals: string[];
  overrides: CliOverrides;
  json: boolean;
  quiet: boolean;
  adminPort: number | null;
  admin: string | null;
  mode: string | null;
  /** ctl rollout --image: the image of the new version (docker deployments). */
  image: string | null;
}

const COMMANDS: Command[] = ['run', 'demo', 'up', 'report', 'validate', 'ctl', 'prometheus-config', 'help', 'version'];

export function parseCli(argv: string[]): ParsedCli {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        rate: { type: 'string' },
        duration: { type: 'string' },
        connections: { type: 'string' },
        engine: { type: 'string' },
        runtime: { type: 'string' },
        prometheus: { type: 'string' },
        'app-fault': { type: 'string', multiple: true },
        'no-retries': { type: 'boolean' },
        proxy: { type: 'string' },
        out: { type: 'string' },
        json: { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
        'admin-port': { type: 'string' },
        admin: { type: 'string' },
        mode: { type: 'string' },
        image: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    throw new ZerodropError('ZD_BAD_USAGE', (err as Error).message, { fix: 'run `zerodrop --help` for the options' });
  }
  const { values, positionals } = parsed;
  if (values.help) return base('help', positionals);
  if (values.version) return base('version', positionals);
  const [first, ...rest] = positionals;
  if (first === undefined) return base('help', []);
  if (!COMMANDS.includes(first as Command)) {
    throw new ZerodropError('ZD_BAD_USAGE', `unknown command "${first}"`, { fix: `use one of: ${COMMANDS.join(', ')} (zerodrop --help)` });
  }
  const command = first as Command;
  const overrides: CliOverrides = {};
  if (values.rate !== undefined) overrides.rate = positiveInt('--rate', values.rate, 'requests per second, e.g. --rate 2000', true);
  if (values.duration !== undefined) {
    const ms = parseDuration(values.duration);
    if (ms === null || ms < 1000) {
      throw new ZerodropError('ZD_BAD_USAGE', `--duration ${values.duration}: not a duration of at least 1s`, { fix: 'e.g. --duration 30s or --duration 2m' });
    }
    overrides.durationMs = ms;
  }
  if (values.connections !== undefined) overrides.connections = positiveInt('--connections', values.connections, 'e.g. --connections 128', false);
  if (values.engine !== undefined) {
    if (values.engine !== 'open' && values.engine !== 'autocannon') {
      throw new ZerodropError('ZD_BAD_USAGE', `--engine ${values.engine}: unknown engine`, { fix: 'use --engine open (constant arrival rate) or --engine autocannon' });
    }
    overrides.engine = values.engine;
  }
  if (values.runtime !== undefined) {
    if (!isRuntimeName(values.runtime)) {
      throw new ZerodropError('ZD_BAD_USAGE', `--runtime ${values.runtime}: unknown runtime`, { fix: `use --runtime ${RUNTIME_NAMES.join(' or --runtime ')} (default ${DEFAULT_RUNTIME})` });
    }
    overrides.runtime = values.runtime;
  }
  if (values.prometheus !== undefined) {
    const p = values.prometheus;
    if (p !== 'auto' && p !== 'off' && !/^https?:\/\/[^\s]+$/.test(p)) {
      throw new ZerodropError('ZD_BAD_USAGE', `--prometheus ${p}: not auto, off or a URL`, { fix: 'e.g. --prometheus auto, or --prometheus http://127.0.0.1:9090' });
    }
    overrides.prometheus = p;
  }
  if (values['app-fault']) overrides.appFaults = values['app-fault'];
  if (values['no-retries']) overrides.noRetries = true;
  if (values.proxy !== undefined) {
    if (!isDataPlaneEngine(values.proxy)) {
      throw new ZerodropError('ZD_BAD_USAGE', `--proxy ${values.proxy}: unknown data plane (one of ${DATA_PLANE_ENGINES.join(', ')})`, { fix: 'use --proxy node (zerodrop\'s own proxy, default) or --proxy haproxy' });
    }
    overrides.proxyEngine = values.proxy;
  }
  if (values.out !== undefined) overrides.outDir = values.out;
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
  };
}

function base(command: Command, positionals: string[]): ParsedCli {
  return { command, positionals, overrides: {}, json: false, quiet: false, adminPort: null, admin: null, mode: null, image: null };
}

function positiveInt(flag: string, text: string, fix: string, allowZero: boolean): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) {
    throw new ZerodropError('ZD_BAD_USAGE', `${flag} ${text}: expected a whole number${allowZero ? '' : ' ≥ 1'}`, { fix });
  }
  return n;
}

export const HELP = `zerodrop — prove a service survives a rolling update and a zone loss under load, without dropping a request

Usage
  zerodrop demo [options]               the Kubernetes 1.2 demo: 20,000 req/s, rolling update, zone crash
  zerodrop run <scenario.yaml> [opts]   run a scenario and verify it; writes reports/<run-id>/
  zerodrop up <scenario.yaml>           start the replicas and the proxy and leave them running:
                                        point any load tool at the printed URL, drive it with \`zerodrop ctl\`
  zerodrop ctl <action> [--admin URL]   drive a running \`up\`: status | events | rollout <version> [--image I] |
                                        rollback | scale <n> | fail-zone <zone> [--mode hang] | recover-zone <zone>
  zerodrop report <dir>                 re-render every report of a run from its result.json
  zerodrop validate <scenario.yaml>     check a scenario and print its plan; starts nothing
  zerodrop prometheus-config [--out d]  print the scrape config for your own Prometheus (--prometheus <url>)

Options (override the scenario)
  --rate <n>             target requests per second (the open model's arrival rate)
  --duration <d>         load duration, e.g. 30s or 2m; timeline steps scale with it
  --connections <n>      most connections the driver may open
  --engine <e>           open (constant arrival rate, default) | autocannon (closed loop)
  --runtime <r>          process (child processes, default) | docker
  --prometheus <p>       auto (start the installed prometheus) | off | <url of your Prometheus>
  --app-fault <switch>   break the sample-app on purpose (repeatable): abrupt-exit, ready-early,
                         no-drain, ignore-sigterm, close-idle, error-rate=<0..1>, slow-start=<ms>
  --no-retries           the proxy never retries: see what the service alone would have cost
  --proxy <p>            node (zerodrop's own proxy, default) | haproxy (the installed HAProxy,
                         driven through its runtime API: about a third of the CPU per request)
  --out <dir>            where reports go (default: reports)
  --json                 print result.json on stdout (progress goes to stderr)
  --admin-port <n>       fixed port for the admin API (up)
  -q, --quiet            no progress lines
  -h, --help             this text

Exit codes
  0  PASS     every check held: no request lost or failed, load reached, events happened
  1  FAIL     a check failed (dropped or failed requests, a broken invariant, a threshold)
  2  usage    bad flags or a bad scenario (every problem is listed, nothing is started)
  3  INVALID  inconclusive: the load was not reached, the harness or the runtime broke, or interrupted

A scenario (YAML; every field has a default, see scenarios/):
  name: rollout-and-zone-crash
  deployment: { replicas: 6, zones: [a, b, c], strategy: { maxSurge: 25%, maxUnavailable: 25% } }
  load: { rate: 5000, duration: 60s, warmup: 5s }
  timeline:
    - { at: 10s, action: rollout, version: v2 }
    - { at: 30s, action: crash-zone, zone: b }
    - { at: 45s, action: recover-zone, zone: b }
`;
