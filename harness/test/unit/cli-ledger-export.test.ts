/** --ledger-out: every request, one row each, as CSV or NDJSON; the format from the file name. */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ZerodropError } from '../../../common/src/errors.js';
import { parseCli } from '../../src/cli/args.js';
import { LEDGER_COLUMNS, ledgerFormatOf, ledgerRows, writeLedger } from '../../src/cli/ledger-export.js';
import { Ledger } from '../../src/driver/ledger.js';
import { Outcome } from '../../src/driver/types.js';

const dir = mkdtempSync(join(tmpdir(), 'zd-ledger-out-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ORIGIN = 1000;
function sample(): Ledger {
  const l = new Ledger('run-1', 4);
  const a = l.add(ORIGIN + 10);
  l.markSent(a, ORIGIN + 10.5);
  l.complete(a, ORIGIN + 12.25, Outcome.Ok, 200, 'web-a-1,"x"', 1);
  const b = l.add(ORIGIN + 20);
  l.markSent(b, ORIGIN + 20);
  l.complete(b, ORIGIN + 1020, Outcome.Reset, 0, null, 3);
  const c = l.add(ORIGIN + 30); // never answered
  l.markSent(c, ORIGIN + 30);
  l.abandonPending(ORIGIN + 5000);
  return l;
}

describe('--ledger-out', () => {
  it('rows in send order, times from the run origin', () => {
    const rows = [...ledgerRows(sample().toData(), ORIGIN)];
    expect(rows).toEqual([
      { id: 'run-1-0', seq: 0, tMs: 10, sendLagMs: 0.5, latencyMs: 2.25, outcome: 'ok', status: 200, replica: 'web-a-1,"x"', attempts: 1 },
      { id: 'run-1-1', seq: 1, tMs: 20, sendLagMs: 0, latencyMs: 1000, outcome: 'reset', status: 0, replica: null, attempts: 3 },
      { id: 'run-1-2', seq: 2, tMs: 30, sendLagMs: 0, latencyMs: 4970, outcome: 'abandoned', status: 0, replica: null, attempts: 1 },
    ]);
  });

  it('CSV: a header, one quoted-where-needed line a request', async () => {
    const file = join(dir, 'ledger.csv');
    expect(await writeLedger(file, sample().toData(), ORIGIN)).toBe('csv');
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe(LEDGER_COLUMNS.join(','));
    expect(lines[1]).toBe('run-1-0,0,10,0.5,2.25,ok,200,"web-a-1,""x""",1');
    expect(lines[2]).toBe('run-1-1,1,20,0,1000,reset,0,,3');
    expect(lines).toHaveLength(4);
  });

  it('NDJSON: one JSON object a line, same fields', async () => {
    const file = join(dir, 'ledger.ndjson');
    expect(await writeLedger(file, sample().toData(), ORIGIN)).toBe('ndjson');
    const rows = readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toHaveLength(3);
    expect(Object.keys(rows[0]!)).toEqual([...LEDGER_COLUMNS]);
    expect(rows[2]).toMatchObject({ id: 'run-1-2', outcome: 'abandoned', replica: null });
  });

  it('a large ledger streams (100,000 rows) and leaves no temp file', async () => {
    const l = new Ledger('big', 100_000);
    for (let i = 0; i < 100_000; i++) l.complete(l.add(ORIGIN + i / 10), ORIGIN + i / 10 + 1, Outcome.Ok, 200, 'r', 1);
    const file = join(dir, 'big.jsonl');
    await writeLedger(file, l.toData(), ORIGIN);
    expect(readFileSync(file, 'utf8').split('\n')).toHaveLength(100_001);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('an unknown extension is refused when the flags are parsed, before anything starts (exit 2)', () => {
    expect(ledgerFormatOf('x.JSONL')).toBe('ndjson');
    for (const bad of ['ledger.json', 'ledger', '.csv']) {
      try {
        parseCli(['run', 's.yaml', '--ledger-out', bad]);
        throw new Error(`accepted ${bad}`);
      } catch (err) {
        expect(err).toBeInstanceOf(ZerodropError);
        expect((err as ZerodropError).exitCode).toBe(2);
        expect((err as ZerodropError).message).toContain('--ledger-out');
      }
    }
  });
});
