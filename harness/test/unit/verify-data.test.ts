/**
 * The data checks (verify/checks/data.ts) over hand-made read-back findings: each rule passes on
 * clean evidence and fails (or goes INVALID) on the evidence that breaks it.
 */
import { describe, expect, it } from 'vitest';
import { ReadBack } from '../../src/run/read-back.js';
import { dataChecks, summarizeData, type DataInput } from '../../src/verify/checks/data.js';
import { encodeTemplates, parseTargetUrl } from '../../src/driver/http1.js';
import { withWrites, writeSeqPredicate, writeValue } from '../../src/driver/writes.js';

const R = ReadBack;
function input(rows: number[], listed: string[] | null = null): DataInput {
  return {
    runId: 'run1',
    rows: Uint8Array.from(rows),
    intendedMs: (seq) => seq * 100,
    listed,
    listNote: listed === null ? 'no listing' : null,
    readBack: { startedMs: 5000, endedMs: 5200, requests: rows.length },
    windows: [{ label: 'rollout v2 at 1s', fromMs: 100, toMs: 300 }],
    perZone: false,
  };
}
const byId = (d: ReturnType<typeof summarizeData>): Record<string, string> => Object.fromEntries(dataChecks(d).map((c) => [c.id, c.status]));

describe('data checks', () => {
  it('PASS: every acknowledged write intact, nothing stored that the run did not write', () => {
    const d = summarizeData(input([R.NotAWrite, R.Durable, R.NotAWrite, R.Durable, R.NotLanded], ['run1-1', 'run1-3']));
    expect(d).toMatchObject({ writes: 3, acknowledged: 2, durable: 2, missing: 0, unacknowledged: 1, landedUnacknowledged: 0, phantom: 0 });
    expect(byId(d)).toEqual({ 'data.acknowledged-writes-durable': 'pass', 'data.no-phantom-writes': 'pass' });
    expect(d.windows[0]).toMatchObject({ writes: 2, acknowledged: 2, durable: 2, lost: 0 }); // seqs 1 and 3 (100..300 ms)
  });

  it('FAIL data.acknowledged-writes-durable: an acknowledged write missing, another changed', () => {
    const d = summarizeData(input([R.Durable, R.Missing, R.Corrupt], ['run1-0']));
    const c = dataChecks(d).find((x) => x.id === 'data.acknowledged-writes-durable')!;
    expect(c.status).toBe('fail');
    expect(c.actual).toBe('1 of 3 acknowledged writes read back intact; 1 missing, 1 changed');
    expect(d.samples.lost).toEqual(['run1-1', 'run1-2']);
  });

  it('INVALID, not FAIL, when the read-back could not read a write, or nothing was acknowledged', () => {
    expect(byId(summarizeData(input([R.Durable, R.Unread], [])))['data.acknowledged-writes-durable']).toBe('invalid');
    expect(byId(summarizeData(input([R.NotLanded], [])))['data.acknowledged-writes-durable']).toBe('invalid');
  });

  it('FAIL data.no-phantom-writes: a key no write of the run sent; a failed write that landed is counted apart, not a phantom', () => {
    const d = summarizeData(input([R.Durable, R.NotAWrite, R.NotLanded], ['run1-0', 'run1-1', 'run1-2', 'other-7']));
    expect(d.phantom).toBe(2); // run1-1 was a read; other-7 is no key of this run
    expect(d.samples.phantom).toEqual(['run1-1', 'other-7']);
    expect(d.landedUnacknowledged).toBe(1); // run1-2: listed, so it landed although its client saw a failure
    expect(byId(d)['data.no-phantom-writes']).toBe('fail');
  });

  it('skips the phantom rule when the service has no key listing', () => {
    expect(byId(summarizeData(input([R.Durable], null)))['data.no-phantom-writes']).toBe('skip');
  });
});

describe('writes in the mix (driver/writes.ts)', () => {
  it('load.writes: 0.2 makes exactly every fifth request a keyed PUT, and the predicate says which', () => {
    const requests = withWrites([{ method: 'GET', path: '/', headers: {}, body: null, weight: 1 }], 0.2);
    const isWrite = writeSeqPredicate(requests);
    const writes = Array.from({ length: 1000 }, (_, i) => i).filter(isWrite);
    expect(writes.length).toBe(200);
    expect(writeSeqPredicate([{ method: 'GET', path: '/', headers: {}, body: null, weight: 1 }])(3)).toBe(false);
  });

  it('a keyed write carries its id in the path, the id header and the body', () => {
    const requests = withWrites([{ method: 'GET', path: '/', headers: {}, body: null, weight: 1 }], 0.5).map((r) => ({
      ...r,
      headers: { authorization: 'Bearer t' },
    }));
    const [, tpl] = encodeTemplates(requests, parseTargetUrl('http://127.0.0.1:9'), 'run1');
    const text = tpl!.render!(42).toString('latin1');
    const body = writeValue('run1-42');
    expect(text).toBe(
      `PUT /kv/run1-42 HTTP/1.1\r\nhost: 127.0.0.1:9\r\nauthorization: Bearer t\r\nx-zerodrop-id: run1-42\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    );
  });
});
