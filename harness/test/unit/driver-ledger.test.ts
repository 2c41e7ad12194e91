import { describe, expect, it } from 'vitest';
import { Ledger, ledgerTransferList } from '../../src/driver/ledger.js';
import { Outcome } from '../../src/driver/types.js';

const MB = 1024 * 1024;

describe('Ledger', () => {
  it('holds 1.2 M rows in ≤ 64 MB of columns, preallocated or grown', () => {
    const pre = new Ledger('mem', 1_200_000);
    for (let i = 0; i < 1_200_000; i++) pre.add(i * 0.05);
    expect(pre.length).toBe(1_200_000);
    expect(pre.bytes).toBeLessThanOrEqual(64 * MB);
    const cols = pre.columns;
    const actual = Object.values(cols).reduce((s: number, a: ArrayBufferView) => s + a.byteLength, 0);
    expect(actual).toBe(pre.bytes);
    expect(actual / 1_200_000).toBe(22);

    const grown = new Ledger('mem', 1024);
    for (let i = 0; i < 1_200_000; i++) grown.add(i);
    const grownBytes = Object.values(grown.columns).reduce((s: number, a: ArrayBufferView) => s + a.byteLength, 0);
    expect(grownBytes).toBeLessThanOrEqual(64 * MB);
  });

  it('ends a row once, and reports whether a call ended it', () => {
    const l = new Ledger('r');
    const s = l.add(100);
    expect(l.markSent(s, 100.25)).toBe(250);
    expect(l.complete(s, 101.5, Outcome.Ok, 200, 'a')).toBe(true);
    expect(l.complete(s, 102, Outcome.Reset, 0, null)).toBe(false);
    expect(l.completeIdx(s, 102, Outcome.Reset, 0, 0)).toBe(false);
    expect(l.completeIdx(99, 102, Outcome.Reset, 0, 0)).toBe(false);
    expect(l.outcomeOf(s)).toBe(Outcome.Ok);
    expect(l.latencyUsOf(s)).toBe(1500);
    expect(l.replicas).toEqual(['', 'a']);
    expect(l.requestId(s)).toBe('r-0');
  });

  it('abandons what is still pending, and only that', () => {
    const l = new Ledger('r');
    for (let i = 0; i < 5; i++) l.add(i);
    l.complete(1, 3, Outcome.Ok, 200, null);
    expect(l.abandonPending(10)).toBe(4);
    expect(Array.from(l.columns.outcome.subarray(0, 5))).toEqual([8, 1, 8, 8, 8]);
  });

  it('detaches its columns without copying, and the data round-trips', () => {
    const l = new Ledger('r', 100);
    for (let i = 0; i < 10; i++) {
      l.add(i);
      l.complete(i, i + 1, Outcome.Ok, 200, `r${i % 2}`, 1 + (i % 3));
    }
    const d = l.detachData();
    expect(d.length).toBe(10);
    expect(d.intended.length).toBe(10);
    expect(d.intended.buffer).toBe(l.columns.intended.buffer);
    expect(ledgerTransferList(d)).toHaveLength(7);
    const back = Ledger.fromData(d);
    expect(back.length).toBe(10);
    expect(back.replicas).toEqual(['', 'r0', 'r1']);
    expect(back.columns.attempts[5]).toBe(3);
    const copy = l.toData();
    expect(copy.intended.buffer).not.toBe(l.columns.intended.buffer);
    expect(Array.from(copy.latencyUs)).toEqual(Array.from(d.latencyUs));
  });
});
