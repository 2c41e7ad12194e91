/**
 * `zerodrop init`: asks nothing, writes a commented scenario for the service in the current
 * directory (--command, --image or --url), validated by the same loader `run` uses before a byte
 * is written, never over an existing file, and prints the command to run next.
 */
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { ExitCode, ZerodropError } from '../../../common/src/errors.js';
import { parseScenarioText } from '../scenario/load.js';
import { resolvePlan } from '../scenario/resolve.js';

export const DEFAULT_INIT_FILE = 'zerodrop.yaml';

export type InitTarget = { kind: 'command'; argv: string[] } | { kind: 'image'; image: string } | { kind: 'url'; url: string };

export interface InitOptions {
  command: string | null;
  image: string | null;
  url: string | null;
}

/** Splits `--command "node server.js --port 0"` like a shell would (quotes and backslashes; no expansion). */
export function splitCommand(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (ch === '\\' && i + 1 < text.length) {
      cur += text[++i];
      has = true;
    } else if (/\s/.test(ch)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (quote) {
    throw new ZerodropError('ZD_BAD_USAGE', `--command ${text}: unclosed ${quote}`, { fix: 'close the quote, e.g. --command "node server.js"' });
  }
  if (has) out.push(cur);
  return out;
}

export function initTarget(o: InitOptions): InitTarget {
  const given = [o.command !== null && '--command', o.image !== null && '--image', o.url !== null && '--url'].filter((x): x is string => x !== false);
  if (given.length !== 1) {
    throw new ZerodropError(
      'ZD_BAD_USAGE',
      given.length === 0 ? 'zerodrop init needs to know how your service starts' : `zerodrop init takes one of ${given.join(', ')}, not several`,
      {
        fix: 'pass exactly one: --command "node server.js" (a process per replica), --image myapp:v1 (a container per replica) or --url http://127.0.0.1:8080 (a service already running)',
      },
    );
  }
  if (o.command !== null) {
    const argv = splitCommand(o.command);
    if (argv.length === 0) throw new ZerodropError('ZD_BAD_USAGE', '--command is empty', { fix: 'e.g. --command "node server.js"' });
    return { kind: 'command', argv };
  }
  if (o.image !== null) {
    if (!/^[a-z0-9][a-z0-9._\-/:@]*$/i.test(o.image))
      throw new ZerodropError('ZD_BAD_USAGE', `--image ${o.image}: not an image reference`, {
        fix: 'e.g. --image myapp:v1 (it must already be on the local Docker engine)',
      });
    return { kind: 'image', image: o.image };
  }
  const url = o.url!;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ZerodropError('ZD_BAD_USAGE', `--url ${url}: not a URL`, { fix: 'e.g. --url http://127.0.0.1:8080/' });
  }
  if (parsed.protocol !== 'http:')
    throw new ZerodropError('ZD_BAD_USAGE', `--url ${url}: only http:// is supported`, { fix: 'e.g. --url http://127.0.0.1:8080/' });
  return { kind: 'url', url };
}

/** A scenario name from the directory name ("My Service" → "my-service"). */
export function scenarioName(dir: string): string {
  const slug = basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return /^[a-z]/.test(slug) ? slug : `svc-${slug || 'service'}`;
}

const q = (s: string): string => JSON.stringify(s);

const LOAD_AND_THRESHOLDS = `load:
  rate: 500                     # requests/s: start low; raise it until a run says INVALID (the machine's limit)
  duration: 30s                 # or 1m30s; timeline steps scale with --duration
  warmup: 3s                    # not measured: connections open, the rate ramps up
  # requests:                   # what each request is (default: GET /); weights pick among several
  #   - { method: GET, path: /, weight: 3 }
  #   - { method: POST, path: /orders, body: '{"n":1}', headers: { content-type: application/json } }
thresholds:
  maxFailed: 0                  # the contract: not one failed request
  # p99: 250ms                  # optional latency gate over the measured window`;

/** The scenario text for a target; `name` is usually the current directory's. */
export function renderInitScenario(target: InitTarget, name: string): string {
  const head = `# zerodrop scenario for ${name}, written by \`zerodrop init\`.
# Every field has a default (README: "Scenarios"). Check it:  zerodrop validate <this file>
#                                                   Run it:  zerodrop run <this file>
name: ${name}
`;
  if (target.kind === 'url') {
    return `${head}# Target mode: zerodrop puts load on a service it does not run; your own deploy tooling
# changes it (timeline steps that run commands, e.g. kubectl rollout restart).
target:
  url: ${q(target.url)}
${LOAD_AND_THRESHOLDS}
timeline: []
# timeline:
#   - { at: 5s, action: exec, command: [kubectl, rollout, restart, deploy/web], until: [kubectl, rollout, status, deploy/web] }
`;
  }
  const docker = target.kind === 'image';
  const start = docker
    ? `runtime: docker                 # one container per replica (the image must be on the local engine)
target:
  image: ${q(target.image)}
  containerPort: 8080           # the port your service listens on inside the container`
    : `target:
  command: [${target.argv.map(q).join(', ')}]   # started once per replica, in this directory
  port: { env: PORT }           # each replica gets its port in $PORT (also REPLICA_ID, ZONE, APP_VERSION)`;
  const rollout = `{ at: 5s, action: rollout, version: v2${docker ? `, image: ${q(target.image)}` : ''} }`;
  const step = (yaml: string, comment: string): string => `  - ${yaml.padEnd(Math.max(44, rollout.length + 1))} # ${comment}`;
  return `${head}${start}
  readinessPath: /              # your readiness endpoint: false until ready, false again once draining
  livenessPath: /
  metricsPath: null             # your Prometheus endpoint (e.g. /metrics); null: counted from the proxy's side
deployment:
  replicas: 4
  zones: [a, b]
  strategy: { maxSurge: 25%, maxUnavailable: 25% }   # Kubernetes' defaults
  termination: { gracePeriod: 10s }                   # SIGTERM, then SIGKILL after this
${LOAD_AND_THRESHOLDS}
timeline:
${step(rollout, 'replica by replica, like a Deployment')}
${step('{ at: 15s, action: crash-zone, zone: a }', 'every replica of zone a dies at once')}
${step('{ at: 22s, action: recover-zone, zone: a }', 'zone a comes back')}
`;
}

export interface InitOutcome {
  file: string;
  text: string;
  next: string;
}

/**
 * Renders, validates, and writes the scenario with O_EXCL (never over an existing file, even one
 * created in between). Nothing is written when anything is wrong.
 */
export function initScenario(o: InitOptions, file: string = DEFAULT_INIT_FILE, cwd: string = process.cwd()): InitOutcome {
  const target = initTarget(o);
  const path = resolve(cwd, file);
  const text = renderInitScenario(target, scenarioName(cwd));
  try {
    resolvePlan(parseScenarioText(text, file));
  } catch (err) {
    if (target.kind === 'url' && err instanceof ZerodropError && /target\.url: unknown field/.test(err.format())) {
      throw new ZerodropError('ZD_BAD_USAGE', '--url: this zerodrop has no target mode yet (it runs the replicas it tests)', {
        fix: 'use --command "<how your service starts>" or --image <your image>',
      });
    }
    throw err;
  }
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ZerodropError('ZD_BAD_USAGE', `${file} already exists: zerodrop init never overwrites a file`, {
        fix: `pick another name (zerodrop init other.yaml …) or remove ${file} first`,
      });
    }
    throw new ZerodropError('ZD_BAD_USAGE', `cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      fix: 'run zerodrop init in a directory you can write to',
    });
  }
  try {
    writeSync(fd, text);
  } catch (err) {
    unlinkSync(path); // nothing half-written
    throw err;
  } finally {
    closeSync(fd);
  }
  return { file, text, next: `zerodrop run ${file}` };
}

export function runInit(o: InitOptions, file: string | undefined): number {
  const done = initScenario(o, file ?? DEFAULT_INIT_FILE);
  process.stderr.write(`wrote ${done.file} (validated). Next:\n`);
  process.stdout.write(`${done.next}\n`);
  return ExitCode.Pass;
}
