/**
 * sample-app configuration: command-line flags and environment variables (flags win).
 * Pure: no I/O, so every rule is covered by unit tests. A bad value throws ConfigError, which
 * names the flag and the fix; main.ts prints it and exits with code 2 (docs/architecture.md, "Exit codes": 2 = bad usage).
 */
import { hostname } from 'node:os';

/** Contract-breaking switches (negative controls). Each one breaks exactly one rule. */
export interface Faults {
  /** exit(0) at once on SIGTERM: in-flight requests are cut off. */
  abruptExit: boolean;
  /** /readyz answers 200 during warm-up while traffic routes still answer 503. */
  readyEarly: boolean;
  /** On SIGTERM destroy every socket (in-flight and idle) and exit. */
  noDrain: boolean;
  /** SIGTERM (and SIGINT) are ignored; only SIGKILL ends the process. */
  ignoreSigterm: boolean;
  /**
   * Drain as usual, but close the listener with http `server.close()`, which on Node >= 19 also
   * destroys idle keep-alive sockets (nodejs/node#52649): a request written on one is lost.
   */
  closeIdle: boolean;
  /** Fraction 0..1 of traffic requests answered 500, counter-based (exact, not random). */
  errorRate: number;
  /** For this long after becoming ready, traffic requests are held until the window ends. */
  slowStartMs: number;
  /** PUT /kv is acknowledged from memory and written to disk only at a graceful exit (lost on SIGKILL). */
  ackBeforeFsync: boolean;
  /** /kv is stored under <data dir>/<replica>: a volume per replica, not one shared by the Deployment. */
  volumePerReplica: boolean;
  /** The previous bearer token is refused: no overlap window during a secret rotation. */
  rotateWithoutOverlap: boolean;
  /** The bearer token is printed at start (a leak). */
  logSecret: boolean;
}

export const NO_FAULTS: Readonly<Faults> = Object.freeze({
  abruptExit: false,
  readyEarly: false,
  noDrain: false,
  ignoreSigterm: false,
  closeIdle: false,
  errorRate: 0,
  slowStartMs: 0,
  ackBeforeFsync: false,
  volumePerReplica: false,
  rotateWithoutOverlap: false,
  logSecret: false,
});

export const FAULT_SWITCHES = [
  'abrupt-exit',
  'ready-early',
  'no-drain',
  'ignore-sigterm',
  'close-idle',
  'error-rate=<fraction 0..1>',
  'slow-start=<ms>',
  'ack-before-fsync',
  'volume-per-replica',
  'rotate-without-overlap',
  'log-secret',
] as const;

export interface Config {
  port: number;
  host: string;
  /** Side port serving /metrics, /healthz, /readyz until the process exits; null = none. */
  adminPort: number | null;
  version: string;
  zone: string;
  replica: string;
  /** Readiness stays false this long after the listener is bound. */
  warmupMs: number;
  /** After SIGTERM, keep serving (with Connection: close) this long before closing the listener. */
  drainDelayMs: number;
  /** Hard deadline for the whole shutdown, counted from SIGTERM. */
  drainTimeoutMs: number;
  /** After the last connection closed, keep the admin port up this long (within the deadline). */
  exitLingerMs: number;
  /** Node's server.keepAliveTimeout (idle keep-alive sockets close after this, plus Node's 1 s buffer). */
  keepAliveTimeoutMs: number;
  /** Answer GET / in the node:http listener, before express. */
  fastPath: boolean;
  /** The Deployment's volume (PUT/GET /kv/<key> are served only when set). */
  dataDir: string | null;
  /** The Deployment's secret (bearer token on traffic routes when set; auth.ts). */
  secretsDir: string | null;
  faults: Faults;
  /** The switches as given, for logs. */
  faultSpecs: string[];
}

export class ConfigError extends Error {
  /** The flag at fault, e.g. "--port" (or "ZERODROP_FAULTS" when the env var is wrong). */
  readonly flag: string;
  readonly fix: string;
  constructor(flag: string, message: string, fix: string) {
    super(message);
    this.name = 'ConfigError';
    this.flag = flag;
    this.fix = fix;
  }
  format(): string {
    return `sample-app: ${this.flag}: ${this.message}\n  how to fix: ${this.fix}`;
  }
}

/** Thrown for --help: not an error, main prints usage() and exits 0. */
export class HelpRequested extends Error {
  constructor() {
    super('help requested');
    this.name = 'HelpRequested';
  }
}

export const DEFAULTS = {
  host: '127.0.0.1',
  version: 'v1',
  zone: 'local',
  warmupMs: 0,
  drainDelayMs: 1500,
  drainTimeoutMs: 8000,
  exitLingerMs: 0,
  keepAliveTimeoutMs: 5000,
} as const;

type ValueFlag =
  | '--port'
  | '--host'
  | '--admin-port'
  | '--version'
  | '--zone'
  | '--replica'
  | '--warmup-ms'
  | '--drain-delay-ms'
  | '--drain-timeout-ms'
  | '--exit-linger-ms'
  | '--keep-alive-timeout-ms'
  | '--data-dir'
  | '--secrets-dir'
  | '--fault';

const VALUE_FLAGS: readonly ValueFlag[] = [
  '--port',
  '--host',
  '--admin-port',
  '--version',
  '--zone',
  '--replica',
  '--warmup-ms',
  '--drain-delay-ms',
  '--drain-timeout-ms',
  '--exit-linger-ms',
  '--keep-alive-timeout-ms',
  '--data-dir',
  '--secrets-dir',
  '--fault',
];
const BOOLEAN_FLAGS = ['--no-fast-path', '--help'] as const;

export function usage(): string {
  return [
    'usage: node dist/sample-app/src/main.js [flags]',
    '',
    '  --port N                 main port (env PORT; 0 = ephemeral; default 0)',
    `  --host H                 bind address (default ${DEFAULTS.host})`,
    '  --admin-port N           side port for /metrics /healthz /readyz, up until exit (0 = ephemeral; default none)',
    `  --version V              version label (env APP_VERSION; default ${DEFAULTS.version})`,
    `  --zone Z                 zone label (env ZONE; default ${DEFAULTS.zone})`,
    '  --replica R              replica id (env REPLICA_ID; default <hostname>-<pid>)',
    `  --warmup-ms N            readiness false for N ms after listen (default ${DEFAULTS.warmupMs})`,
    `  --drain-delay-ms N       keep serving N ms after SIGTERM before closing the listener (default ${DEFAULTS.drainDelayMs})`,
    `  --drain-timeout-ms N     hard deadline for the whole shutdown (default ${DEFAULTS.drainTimeoutMs})`,
    `  --exit-linger-ms N       after draining, keep the admin port up until the orchestrator's final read, at most N ms (default ${DEFAULTS.exitLingerMs})`,
    `  --keep-alive-timeout-ms N  idle keep-alive timeout of the main port (default ${DEFAULTS.keepAliveTimeoutMs})`,
    '  --data-dir D             the volume: serve PUT/GET /kv/<key>, stored durably in D (env ZERODROP_DATA_DIR; default none)',
    '  --secrets-dir D          require Authorization: Bearer <D/token> (or D/token.previous) on traffic routes (env ZERODROP_SECRETS_DIR)',
    '  --no-fast-path           let express answer GET / too (for before/after measurements)',
    '  --fault S                break the zero-downtime contract on purpose; repeatable (env ZERODROP_FAULTS=a,b):',
    `                           ${FAULT_SWITCHES.join(', ')}`,
    '',
    'stdout: one line {"event":"listening","port":N,"adminPort":M|null,"pid":P,"replica":..,"version":..,"zone":..}',
  ].join('\n');
}

const LABEL_VALUE = /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,62}$/;

/** `source` names where the value came from ("--port" or "--port (env PORT)"). */
function parseIntFlag(source: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw)) {
    throw new ConfigError(source, `"${raw}" is not a whole number`, `pass an integer from ${min} to ${max}`);
  }
  const n = Number(raw);
  if (n < min || n > max) {
    throw new ConfigError(source, `${raw} is out of range`, `pass an integer from ${min} to ${max}`);
  }
  return n;
}

function parseLabelValue(flag: string, raw: string): string {
  if (!LABEL_VALUE.test(raw)) {
    throw new ConfigError(
      flag,
      `"${raw}" is not a valid value`,
      'use 1-63 characters from A-Z a-z 0-9 . _ : + - starting with a letter or digit (it becomes a header and a metric label)',
    );
  }
  return raw;
}

/** Parses one fault switch into `faults` (mutated). `source` names where it came from. */
export function applyFault(faults: Faults, spec: string, source: string): void {
  const eq = spec.indexOf('=');
  const name = eq === -1 ? spec : spec.slice(0, eq);
  const arg = eq === -1 ? undefined : spec.slice(eq + 1);
  const valid = `valid switches: ${FAULT_SWITCHES.join(', ')}`;
  const noArg = (): void => {
    if (arg !== undefined) throw new ConfigError(source, `fault "${name}" takes no value (got "${spec}")`, valid);
  };
  switch (name) {
    case 'abrupt-exit':
      noArg();
      faults.abruptExit = true;
      return;
    case 'ready-early':
      noArg();
      faults.readyEarly = true;
      return;
    case 'no-drain':
      noArg();
      faults.noDrain = true;
      return;
    case 'ignore-sigterm':
      noArg();
      faults.ignoreSigterm = true;
      return;
    case 'close-idle':
      noArg();
      faults.closeIdle = true;
      return;
    case 'ack-before-fsync':
      noArg();
      faults.ackBeforeFsync = true;
      return;
    case 'volume-per-replica':
      noArg();
      faults.volumePerReplica = true;
      return;
    case 'rotate-without-overlap':
      noArg();
      faults.rotateWithoutOverlap = true;
      return;
    case 'log-secret':
      noArg();
      faults.logSecret = true;
      return;
    case 'error-rate': {
      const f = arg === undefined || arg.trim() === '' ? Number.NaN : Number(arg);
      if (!Number.isFinite(f) || f < 0 || f > 1) {
        throw new ConfigError(source, `fault "${spec}" needs a fraction from 0 to 1`, 'e.g. --fault error-rate=0.1');
      }
      faults.errorRate = f;
      return;
    }
    case 'slow-start': {
      if (arg === undefined || !/^\d+$/.test(arg) || Number(arg) < 1 || Number(arg) > 600_000) {
        throw new ConfigError(source, `fault "${spec}" needs a duration in ms from 1 to 600000`, 'e.g. --fault slow-start=3000');
      }
      faults.slowStartMs = Number(arg);
      return;
    }
    default:
      throw new ConfigError(source, `unknown fault switch "${spec}"`, valid);
  }
}

/**
 * Reads flags (`--name value` or `--name=value`) and env. Throws ConfigError or HelpRequested.
 * `pid` and `host` only feed the default replica id (injectable for tests).
 */
export function parseConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  defaults: { pid?: number; hostname?: string } = {},
): Config {
  const values = new Map<ValueFlag, string>();
  const faultSpecs: { spec: string; source: string }[] = [];
  let fastPath = true;

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (!token.startsWith('--')) {
      throw new ConfigError(token, `unexpected argument "${token}"`, 'flags look like --name value; see --help');
    }
    const eq = token.indexOf('=');
    const flag = eq === -1 ? token : token.slice(0, eq);
    if ((BOOLEAN_FLAGS as readonly string[]).includes(flag)) {
      if (eq !== -1) throw new ConfigError(flag, `${flag} takes no value`, `pass ${flag} alone`);
      if (flag === '--help') throw new HelpRequested();
      fastPath = false; // --no-fast-path
      continue;
    }
    if (!(VALUE_FLAGS as readonly string[]).includes(flag)) {
      throw new ConfigError(flag, `unknown flag ${flag}`, `valid flags: ${[...VALUE_FLAGS, ...BOOLEAN_FLAGS].join(' ')}`);
    }
    let value: string;
    if (eq !== -1) {
      value = token.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        throw new ConfigError(flag, `${flag} needs a value`, `pass ${flag} <value> or ${flag}=<value>`);
      }
      value = next;
      i++;
    }
    if (flag === '--fault') faultSpecs.push({ spec: value, source: '--fault' });
    else values.set(flag as ValueFlag, value);
  }

  // Flags win over env.
  const pick = (flag: ValueFlag, envName: string | null): { raw: string; source: string } | undefined => {
    const f = values.get(flag);
    if (f !== undefined) return { raw: f, source: flag };
    if (envName !== null) {
      const e = env[envName];
      if (e !== undefined && e !== '') return { raw: e, source: `${flag} (env ${envName})` };
    }
    return undefined;
  };
  const intOf = (flag: ValueFlag, envName: string | null, min: number, max: number, dflt: number): number => {
    const p = pick(flag, envName);
    return p === undefined ? dflt : parseIntFlag(p.source, p.raw, min, max);
  };
  const labelOf = (flag: ValueFlag, envName: string | null, dflt: string): string => {
    const p = pick(flag, envName);
    return p === undefined ? dflt : parseLabelValue(p.source, p.raw);
  };

  const port = intOf('--port', 'PORT', 0, 65535, 0);
  const hostPick = pick('--host', null);
  const host = hostPick?.raw ?? DEFAULTS.host;
  if (host.trim() === '') throw new ConfigError('--host', 'empty host', 'pass an address such as 127.0.0.1');
  const adminPick = pick('--admin-port', null);
  const adminPort = adminPick === undefined ? null : parseIntFlag(adminPick.source, adminPick.raw, 0, 65535);
  if (adminPort !== null && adminPort !== 0 && adminPort === port) {
    throw new ConfigError('--admin-port', `admin port ${adminPort} equals --port`, 'use another port, or 0 for an ephemeral one');
  }

  const version = labelOf('--version', 'APP_VERSION', DEFAULTS.version);
  const zone = labelOf('--zone', 'ZONE', DEFAULTS.zone);
  const defaultReplica = sanitizeReplica(`${defaults.hostname ?? hostname()}-${defaults.pid ?? process.pid}`);
  const replica = labelOf('--replica', 'REPLICA_ID', defaultReplica);

  const warmupMs = intOf('--warmup-ms', null, 0, 600_000, DEFAULTS.warmupMs);
  const drainDelayMs = intOf('--drain-delay-ms', null, 0, 600_000, DEFAULTS.drainDelayMs);
  const drainTimeoutMs = intOf('--drain-timeout-ms', null, 1, 600_000, DEFAULTS.drainTimeoutMs);
  const exitLingerMs = intOf('--exit-linger-ms', null, 0, 600_000, DEFAULTS.exitLingerMs);
  const keepAliveTimeoutMs = intOf('--keep-alive-timeout-ms', null, 1, 600_000, DEFAULTS.keepAliveTimeoutMs);
  if (drainDelayMs >= drainTimeoutMs) {
    throw new ConfigError(
      '--drain-delay-ms',
      `drain delay ${drainDelayMs} ms is not below the drain timeout ${drainTimeoutMs} ms`,
      'the delay is part of the shutdown deadline: make --drain-delay-ms smaller than --drain-timeout-ms',
    );
  }

  const envFaults = env.ZERODROP_FAULTS;
  if (envFaults !== undefined && envFaults.trim() !== '') {
    for (const s of envFaults.split(',')) {
      const spec = s.trim();
      if (spec !== '') faultSpecs.unshift({ spec, source: 'ZERODROP_FAULTS' });
    }
  }
  const faults: Faults = { ...NO_FAULTS };
  for (const { spec, source } of faultSpecs) applyFault(faults, spec, source);
  const sigtermFaults = [
    faults.abruptExit && 'abrupt-exit',
    faults.noDrain && 'no-drain',
    faults.ignoreSigterm && 'ignore-sigterm',
    faults.closeIdle && 'close-idle',
  ].filter((x): x is string => typeof x === 'string');
  if (sigtermFaults.length > 1) {
    throw new ConfigError('--fault', `switches ${sigtermFaults.join(' and ')} both change what SIGTERM does`, 'pick one of them');
  }
  const dataPick = pick('--data-dir', 'ZERODROP_DATA_DIR');
  const dataDir = dataPick === undefined ? null : dataPick.raw;
  if (dataDir !== null && !dataDir.startsWith('/')) {
    throw new ConfigError(dataPick!.source, `data directory "${dataDir}" is not an absolute path`, "pass the volume's mount point, e.g. --data-dir /data");
  }
  const storageFaults = [faults.ackBeforeFsync && 'ack-before-fsync', faults.volumePerReplica && 'volume-per-replica'].filter(
    (x): x is string => typeof x === 'string',
  );
  if (storageFaults.length > 0 && dataDir === null) {
    throw new ConfigError('--fault', `${storageFaults.join(' and ')} need a volume to break`, 'add --data-dir <dir> (env ZERODROP_DATA_DIR)');
  }
  const secretsPick = pick('--secrets-dir', 'ZERODROP_SECRETS_DIR');
  const secretsDir = secretsPick === undefined ? null : secretsPick.raw;
  const secretFaults = [faults.rotateWithoutOverlap && 'rotate-without-overlap', faults.logSecret && 'log-secret'].filter(
    (x): x is string => typeof x === 'string',
  );
  if (secretFaults.length > 0 && secretsDir === null) {
    throw new ConfigError('--fault', `${secretFaults.join(' and ')} need a secret to break`, 'add --secrets-dir <dir> (env ZERODROP_SECRETS_DIR)');
  }
  if (faults.readyEarly && warmupMs === 0) {
    throw new ConfigError('--fault', 'ready-early needs a warm-up to lie about', 'add --warmup-ms N with N > 0');
  }

  return {
    port,
    host,
    adminPort,
    version,
    zone,
    replica,
    warmupMs,
    drainDelayMs,
    drainTimeoutMs,
    exitLingerMs,
    keepAliveTimeoutMs,
    fastPath,
    dataDir,
    secretsDir,
    faults,
    faultSpecs: faultSpecs.map((f) => f.spec),
  };
}

/** Turns a hostname-pid into a valid label value (hostnames may hold characters we refuse). */
function sanitizeReplica(raw: string): string {
  const cleaned = raw.replace(/[^A-Za-z0-9._:+-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  const s = cleaned.slice(-63);
  return LABEL_VALUE.test(s) ? s : `replica-${process.pid}`;
}
