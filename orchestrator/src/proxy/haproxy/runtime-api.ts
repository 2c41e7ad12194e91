/**
 * HAProxy's runtime API (doc/management.txt §9.3) over its unix stats socket: one connection per
 * command (non-interactive mode: HAProxy answers, then closes), a few commands in flight at most.
 * Routing commands (add, drain, ready) jump the queue ahead of the counter polls: the control
 * plane must stay on time when the data plane is saturated (the check
 * orchestrator.control-plane-on-time holds it to the scenario's routing lag).
 */
import net from 'node:net';
import { ZerodropError } from '../../../../common/src/errors.js';

const COMMAND_TIMEOUT_MS = 5000;
/** HAProxy's stats socket serves 10 connections by default (stats maxconn). */
const MAX_IN_FLIGHT = 4;

export class RuntimeApi {
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly socketPath: string) {}

  /** Sends one command, resolves with HAProxy's whole answer (trailing blank lines removed). `urgent`: ahead of every waiting command. */
  async command(cmd: string, urgent = false, timeoutMs = COMMAND_TIMEOUT_MS): Promise<string> {
    return this.sendInSlot(oneCommand(cmd), urgent, timeoutMs);
  }

  /** One connection's worth of input (a command, or commands joined by ';'), within MAX_IN_FLIGHT. */
  private async sendInSlot(line: string, urgent: boolean, timeoutMs: number): Promise<string> {
    await this.slot(urgent);
    try {
      return await this.send(line, timeoutMs);
    } finally {
      this.inFlight--;
      this.waiting.shift()?.();
    }
  }

  private slot(urgent: boolean): Promise<void> {
    if (this.inFlight < MAX_IN_FLIGHT) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const go = (): void => {
        this.inFlight++;
        resolve();
      };
      if (urgent) this.waiting.unshift(go);
      else this.waiting.push(go);
    });
  }

  private send(cmd: string, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const sock = net.connect(this.socketPath);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new ZerodropError('ZD_PROXY_FAILED', `HAProxy's runtime API did not answer "${cmd}" within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      sock.once('connect', () => sock.end(`${cmd}\n`));
      sock.on('data', (d: Buffer) => chunks.push(d));
      sock.once('error', (err) => {
        clearTimeout(timer);
        reject(new ZerodropError('ZD_PROXY_FAILED', `HAProxy's runtime API (${this.socketPath}) failed on "${cmd}": ${err.message}`, { cause: err }));
      });
      sock.once('close', () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks).toString('utf8').replace(/\n+$/, ''));
      });
    });
  }

  /**
   * A command whose success HAProxy reports as `expect` (a substring) or as an empty answer
   * (expect = ''); anything else is its error message.
   */
  async expect(cmd: string, expect: string | RegExp): Promise<void> {
    const out = (await this.command(cmd, true)).trim();
    const ok = typeof expect === 'string' ? (expect === '' ? out === '' : out.includes(expect)) : expect.test(out);
    if (!ok) throw new RuntimeApiError(cmd, out);
  }

  /**
   * Several commands on one connection (`;`-joined: management.txt §9.3): one round trip where
   * each would take its own, so a replica is routed sooner when HAProxy is saturated. HAProxy runs
   * every command whatever the one before answered, so a script is for commands that only act on
   * what its first command creates. Succeeds when the answers, blank lines dropped, are exactly
   * `expectLines`; else the whole answer is the error.
   */
  async script(cmds: readonly string[], expectLines: readonly string[]): Promise<void> {
    const joined = cmds.map(oneCommand).join(';');
    const out = await this.sendInSlot(joined, true, COMMAND_TIMEOUT_MS);
    const lines = out
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0);
    if (lines.length !== expectLines.length || lines.some((l, i) => l !== expectLines[i])) throw new RuntimeApiError(joined, lines.join(' | '));
  }

  /** `show stat` as rows of name → value (header from the "# pxname,..." line). */
  async showStat(filter = '', urgent = false): Promise<StatRow[]> {
    return parseShowStat(await this.command(filter ? `show stat ${filter}` : 'show stat', urgent));
  }
}

/** `cmd`, checked to be one command: a newline or ';' would smuggle in another. */
function oneCommand(cmd: string): string {
  if (/[\r\n;]/.test(cmd)) throw new ZerodropError('ZD_INTERNAL', `runtime API command must be one line without ';': ${JSON.stringify(cmd)}`);
  return cmd;
}

export class RuntimeApiError extends ZerodropError {
  constructor(
    readonly cmd: string,
    readonly answer: string,
  ) {
    super('ZD_PROXY_FAILED', `HAProxy refused "${cmd}": ${answer || '(no answer)'}`);
  }
}

export type StatRow = Record<string, string>;

/** Parses `show stat` CSV (no field of ours contains a comma: names are validated). */
export function parseShowStat(text: string): StatRow[] {
  const lines = text.split('\n').filter((l) => l.length > 0);
  const head = lines.find((l) => l.startsWith('# '));
  if (head === undefined) return [];
  const names = head.slice(2).split(',');
  const rows: StatRow[] = [];
  for (const line of lines) {
    if (line.startsWith('#')) continue;
    const values = line.split(',');
    const row: StatRow = {};
    for (let i = 0; i < names.length; i++) {
      const n = names[i];
      if (n) row[n] = values[i] ?? '';
    }
    rows.push(row);
  }
  return rows;
}

/** A numeric stat field; '' (not applicable) → 0. */
export function num(row: StatRow | undefined, field: string): number {
  const v = row?.[field];
  if (v === undefined || v === '') return 0;
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

/** `show table <t>`: the gpc0 of its single entry (0 when none). */
export function parseGpc0(text: string): number {
  const m = /\bgpc0=(\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}
