/**
 * `zerodrop --help` and `zerodrop <command> --help`, from three registries: the commands, every
 * flag parseArgs accepts (typed against args.ts's CLI_OPTIONS, so a new flag without help text
 * does not compile), and every ZERODROP_* environment variable the tool reads or sets.
 */
import type { CliOptionName, Command } from './args.js';

export interface CommandDoc {
  usage: string;
  summary: string;
  /** Flags this command reads, in the order shown. */
  options: CliOptionName[];
  examples: string[];
}

export interface OptionDoc {
  /** e.g. "<n>"; empty for a boolean. */
  arg: string;
  text: string;
  short?: string;
}

const OVERRIDES: CliOptionName[] = [
  'rate',
  'duration',
  'connections',
  'engine',
  'runtime',
  'prometheus',
  'app-fault',
  'no-retries',
  'keep-data',
  'proxy',
  'out',
];

export const COMMAND_DOCS: Record<Command, CommandDoc> = {
  demo: {
    usage: 'zerodrop demo [options]',
    summary: 'the Kubernetes 1.2 demo: 20,000 req/s, rolling update, zone crash (scenarios/demo.yaml)',
    options: [...OVERRIDES, 'ledger-out', 'json', 'quiet'],
    examples: ['zerodrop demo --rate 3000', 'zerodrop demo --rate 1000 --duration 20s --prometheus auto'],
  },
  run: {
    usage: 'zerodrop run <scenario.yaml> [options]',
    summary: 'run a scenario and verify it; writes reports/<run-id>/ and reports/latest',
    options: [...OVERRIDES, 'ledger-out', 'json', 'quiet'],
    examples: [
      'zerodrop run scenarios/rollout.yaml',
      'zerodrop run my.yaml --app-fault abrupt-exit --no-retries   # a negative control: must FAIL',
      'zerodrop run my.yaml --ledger-out ledger.csv',
    ],
  },
  init: {
    usage: 'zerodrop init [file] (--command "<cmd>" | --image <image> | --url <url>)',
    summary: 'write a commented, validated scenario for your service (default file: zerodrop.yaml; never overwrites)',
    options: ['command', 'image', 'url'],
    examples: ['zerodrop init --command "node server.js"', 'zerodrop init --image myapp:v1', 'zerodrop init staging.yaml --url http://127.0.0.1:8080'],
  },
  validate: {
    usage: 'zerodrop validate <scenario.yaml> [options]',
    summary: 'check a scenario and print its plan; starts nothing (exit 2 and every problem when it is bad)',
    options: OVERRIDES,
    examples: ['zerodrop validate my.yaml', 'zerodrop validate my.yaml --rate 5000'],
  },
  up: {
    usage: 'zerodrop up <scenario.yaml> [options]',
    summary: 'start the replicas and the proxy and leave them running for any load tool; drive them with `zerodrop ctl`',
    options: ['runtime', 'proxy', 'app-fault', 'no-retries', 'admin-port'],
    examples: ['zerodrop up scenarios/rollout.yaml --admin-port 7070'],
  },
  ctl: {
    usage: 'zerodrop ctl <action> [--admin URL]',
    summary:
      'drive a running `up`: status | events | rollout <version> [--image I] | rollback | scale <n> | fail-zone <zone> [--mode hang] | recover-zone <zone>',
    options: ['admin', 'image', 'mode'],
    examples: ['zerodrop ctl --admin http://127.0.0.1:7070 rollout v2', 'ZERODROP_ADMIN=http://127.0.0.1:7070 zerodrop ctl fail-zone b --mode hang'],
  },
  report: {
    usage: 'zerodrop report <run-dir>',
    summary: 'render every report of a run again from its result.json',
    options: [],
    examples: ['zerodrop report reports/latest'],
  },
  'prometheus-config': {
    usage: 'zerodrop prometheus-config [--out <dir>]',
    summary: 'print the scrape config for your own Prometheus (runs with --prometheus <url> write their targets under <dir>/prometheus-sd/)',
    options: ['out'],
    examples: ['zerodrop prometheus-config --out reports'],
  },
  help: {
    usage: 'zerodrop help [command]',
    summary: "this text, or one command's (same as zerodrop <command> --help)",
    options: [],
    examples: ['zerodrop help run'],
  },
  version: {
    usage: 'zerodrop version',
    summary: 'print the version of zerodrop and of node',
    options: [],
    examples: [],
  },
};

export const OPTION_DOCS: Record<CliOptionName, OptionDoc> = {
  rate: { arg: '<n>', text: "target requests per second (the open model's arrival rate)" },
  duration: { arg: '<d>', text: 'load duration, e.g. 30s, 2m or 1m30s; timeline steps scale with it' },
  connections: { arg: '<n>', text: 'most connections the driver may open' },
  engine: { arg: '<e>', text: 'open (constant arrival rate, default) | autocannon (closed loop)' },
  runtime: { arg: '<r>', text: 'process (child processes, default) | docker' },
  prometheus: { arg: '<p>', text: 'auto (start the installed prometheus) | off | <url of your Prometheus>' },
  'app-fault': {
    arg: '<switch>',
    text: 'break the sample-app on purpose (repeatable): abrupt-exit, ready-early, no-drain, ignore-sigterm, close-idle, error-rate=<0..1>, slow-start=<ms>, ack-before-fsync, volume-per-replica, rotate-without-overlap, log-secret',
  },
  'no-retries': { arg: '', text: 'the proxy never retries: see what the service alone would have cost' },
  'keep-data': { arg: '', text: "keep the run's volume (deployment.volume) instead of removing it with the run" },
  proxy: {
    arg: '<p>',
    text: "node (zerodrop's own proxy, default) | haproxy (the installed HAProxy, driven through its runtime API) | auto (HAProxy when installed; the Node proxy behind docker-proxy)",
  },
  out: { arg: '<dir>', text: 'where reports go (default: reports)' },
  'ledger-out': {
    arg: '<file>',
    text: 'also write every request (id, times, outcome, status, replica, attempts) to <file>: .csv, or .ndjson / .jsonl (one JSON object a line)',
  },
  json: { arg: '', text: 'print result.json on stdout (progress goes to stderr)' },
  quiet: { arg: '', short: 'q', text: 'no progress lines' },
  'admin-port': { arg: '<n>', text: 'fixed port for the admin API (default: an ephemeral one)' },
  admin: { arg: '<url>', text: 'admin API of a running `zerodrop up` (or $ZERODROP_ADMIN)' },
  mode: { arg: '<m>', text: 'fail-zone: crash (default) | hang (frozen: TCP accepts, nothing answers)' },
  image: { arg: '<image>', text: "init: your service's container image · ctl rollout: the image of the new version" },
  command: { arg: '"<cmd>"', text: 'init: the command that starts your service (it listens on $PORT)' },
  url: { arg: '<url>', text: 'init: an already running service to put under load (target mode)' },
  help: { arg: '', short: 'h', text: 'help (zerodrop <command> --help for one command)' },
  version: { arg: '', short: 'v', text: 'print the version' },
};

/** Every environment variable zerodrop reads, or sets for the replicas it starts. */
export const ENV_DOCS: { name: string; text: string }[] = [
  { name: 'ZERODROP_ADMIN', text: 'zerodrop ctl: the admin URL of a running `zerodrop up` (instead of --admin)' },
  { name: 'ZERODROP_PROMETHEUS_BIN', text: 'the prometheus binary for --prometheus auto (default: prometheus on PATH)' },
  { name: 'ZERODROP_HAPROXY_BIN', text: 'the haproxy binary for --proxy haproxy (default: /usr/sbin/haproxy)' },
  {
    name: 'ZERODROP_DOCKER_ENDPOINT',
    text: "docker runtime: auto (default: the bridge address when a TCP connect reaches it, else published ports) | published (ports on 127.0.0.1, docker-proxy) | container (the bridge address) | host (no network namespace per container: the host's network, 127.0.0.1 and an announced port; the sample-app only, opt-in)",
  },
  {
    name: 'ZERODROP_DOCKER_CPU_SHARES',
    text: 'docker runtime: <booting>:<serving> cpu.shares (default 110:1024, the weights of a process replica booting at nice 10 and serving at 0, below a harness at nice 0; 36:336 below the default -5)',
  },
  {
    name: 'ZERODROP_OWN_SESSION',
    text: 'off: run the harness in this session (default: as root with autogroups, a child leading its own session, for its CPU rank)',
  },
  {
    name: 'ZERODROP_CPU_PRIORITIES',
    text: 'on (default: harness and HAProxy at nice -5, a booting replica at nice 10 until Ready; thread and autogroup nice) | off | harness=N,booting=N,serving=N',
  },
  { name: 'ZERODROP_DOCKER_CGROUP_PARENT', text: "docker runtime: auto (default) | engine (the engine's own default) | a cgroup path" },
  { name: 'ZERODROP_FAULTS', text: 'sample-app: fault switches, comma-separated (what --app-fault sets)' },
  { name: 'ZERODROP_RUN_ID', text: 'set for every replica: the run it belongs to (with PORT, REPLICA_ID, ZONE, APP_VERSION)' },
  { name: 'ZERODROP_DATA_DIR', text: "set for every replica with deployment.volume: the volume (a host directory, or the container's mountPath)" },
  { name: 'ZERODROP_SECRETS_DIR', text: 'set for every replica with deployment.secrets: the read-only directory of the secret files (token, token.previous)' },
  { name: 'NO_COLOR', text: 'any non-empty value: no colour, even on a terminal (colour is only ever used on a terminal)' },
  { name: 'FORCE_COLOR', text: 'any value but 0: colour even when stderr is not a terminal' },
  { name: 'GITHUB_STEP_SUMMARY', text: 'set by GitHub Actions: a run appends its summary to that file' },
];

function optionLine(name: CliOptionName): string {
  const d = OPTION_DOCS[name];
  const flag = `${d.short ? `-${d.short}, ` : ''}--${name}${d.arg ? ` ${d.arg}` : ''}`;
  return `  ${flag.padEnd(26)} ${d.text}`;
}

const EXIT_CODES = `Exit codes
  0  PASS     every check held: no request lost or failed, load reached, events happened
  1  FAIL     a check failed (dropped or failed requests, a broken invariant, a threshold)
  2  usage    bad flags or a bad scenario (every problem is listed, nothing is started)
  3  INVALID  inconclusive: the load was not reached, the harness or the runtime broke, or interrupted`;

/** `zerodrop --help`: every command, every flag, every environment variable. */
export function globalHelp(): string {
  const commands = (Object.keys(COMMAND_DOCS) as Command[]).map((c) => `  ${COMMAND_DOCS[c].usage}\n      ${COMMAND_DOCS[c].summary}`);
  const options = (Object.keys(OPTION_DOCS) as CliOptionName[]).map(optionLine);
  return `zerodrop — prove a service survives a rolling update and a zone loss under load, without dropping a request

Usage
${commands.join('\n')}

Options (those of run, demo and validate override the scenario; zerodrop <command> --help lists each command's)
${options.join('\n')}

Environment
${ENV_DOCS.map((e) => `  ${e.name.padEnd(30)} ${e.text}`).join('\n')}

${EXIT_CODES}

A scenario (YAML; every field has a default, see scenarios/ or run zerodrop init):
  name: rollout-and-zone-crash
  deployment: { replicas: 6, zones: [a, b, c], strategy: { maxSurge: 25%, maxUnavailable: 25% } }
  load: { rate: 5000, duration: 1m, warmup: 5s }
  timeline:
    - { at: 10s, action: rollout, version: v2 }
    - { at: 30s, action: crash-zone, zone: b }
    - { at: 45s, action: recover-zone, zone: b }
`;
}

/** `zerodrop <command> --help`. */
export function commandHelp(command: Command): string {
  const d = COMMAND_DOCS[command];
  const lines = [`Usage: ${d.usage}`, '', d.summary];
  lines.push('', 'Options', ...[...d.options, 'help' as const].map(optionLine));
  if (d.examples.length) lines.push('', 'Examples', ...d.examples.map((e) => `  ${e}`));
  if (command === 'run' || command === 'demo') lines.push('', EXIT_CODES);
  return `${lines.join('\n')}\n`;
}
