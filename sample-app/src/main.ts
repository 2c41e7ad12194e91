/**
 * sample-app entry point: `node dist/sample-app/src/main.js [flags]` (see config.ts usage()).
 *
 * stdout carries exactly one line, {"event":"listening",...}, once both ports are bound; every
 * other line goes to stderr. Exit codes: 0 after a shutdown, 1 when it cannot start (port in
 * use...), 2 for bad flags or env.
 */
import { ConfigError, HelpRequested, parseConfig, usage, type Config } from './config.js';

function log(replica: string, message: string): void {
  process.stderr.write(`${new Date().toISOString()} sample-app[${replica}] ${message}\n`);
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = parseConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(`${usage()}\n`);
      process.exit(0);
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.format()}\n`);
      process.exit(2);
    }
    throw err;
  }

  // Signals first: a SIGTERM that arrives while starting is still a graceful shutdown.
  let pending: string | null = null;
  let handler: (signal: string) => void = (signal) => {
    pending ??= signal;
  };
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, (s) => handler(s));

  // Loaded after the flags are checked, so a usage error costs no express/prom-client start-up.
  const { createSampleApp } = await import('./app.js');
  const app = createSampleApp(config, {
    log: (m) => log(config.replica, m),
    exit: (code) => process.exit(code),
  });

  let ports;
  try {
    ports = await app.start();
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
    const fix = code === 'EADDRINUSE' ? ' (the port is taken: pass another --port/--admin-port, or 0 for an ephemeral one)' : '';
    log(config.replica, `cannot listen: ${err instanceof Error ? err.message : String(err)}${fix}`);
    process.exit(1);
  }

  process.stdout.write(
    `${JSON.stringify({
      event: 'listening',
      port: ports.port,
      adminPort: ports.adminPort,
      pid: process.pid,
      replica: config.replica,
      version: config.version,
      zone: config.zone,
    })}\n`,
  );
  log(
    config.replica,
    `listening on ${config.host}:${ports.port}` +
      (ports.adminPort === null ? '' : `, admin ${config.host}:${ports.adminPort}`) +
      ` version=${config.version} zone=${config.zone} fast-path=${config.fastPath ? 'on' : 'off'}` +
      ` warmup=${config.warmupMs}ms drain-delay=${config.drainDelayMs}ms drain-timeout=${config.drainTimeoutMs}ms` +
      (config.dataDir === null ? '' : ` data-dir=${config.dataDir}`) +
      (config.secretsDir === null ? '' : ' bearer-token=required') +
      (config.faultSpecs.length > 0 ? ` FAULTS=${config.faultSpecs.join(',')}` : ''),
  );
  handler = (signal) => app.onSignal(signal);
  if (pending !== null) app.onSignal(pending);
}

main().catch((err: unknown) => {
  process.stderr.write(`sample-app: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
