import { describe, expect, it } from 'vitest';
import { csvField, escapeHtml, escapeMd, escapeXml, escapeXmlAttr, jsonForScript, mdCode } from '../../src/report/escape.js';
import { fmtClock, fmtCompact, fmtDuration, fmtInt, fmtMs, fmtNum, fmtOffset, fmtPct, fmtRate, fmtSigned } from '../../src/report/format.js';
import { parseXml } from '../fixtures/xml.js';

describe('format', () => {
  it('groups thousands, locale-independent', () => {
    expect(fmtInt(0)).toBe('0');
    expect(fmtInt(999)).toBe('999');
    expect(fmtInt(1_234_567.6)).toBe('1,234,568');
    expect(fmtInt(-20_000)).toBe('-20,000');
    expect(fmtInt(null)).toBe('—');
    expect(fmtInt(Number.NaN)).toBe('—');
    expect(fmtInt(Infinity)).toBe('∞');
    expect(fmtNum(12_345.678, 1)).toBe('12,345.7');
    expect(fmtNum(-0.04, 1)).toBe('0.0');
    expect(fmtSigned(3)).toBe('+3');
    expect(fmtSigned(-2)).toBe('-2');
  });

  it('prints latencies in µs below 1 ms and with sensible precision above', () => {
    expect(fmtMs(0)).toBe('0 ms');
    expect(fmtMs(0.85)).toBe('850 µs');
    expect(fmtMs(3.254)).toBe('3.25 ms');
    expect(fmtMs(12.34)).toBe('12.3 ms');
    expect(fmtMs(1204.4)).toBe('1,204 ms');
    expect(fmtMs(null)).toBe('—');
  });

  it('prints durations and run-clock offsets', () => {
    expect(fmtDuration(850)).toBe('850 ms');
    expect(fmtDuration(1234)).toBe('1.23 s');
    expect(fmtDuration(12_340)).toBe('12.3 s');
    expect(fmtDuration(125_000)).toBe('2 min 05 s');
    expect(fmtDuration(3_720_000)).toBe('1 h 02 min');
    expect(fmtOffset(62_345)).toBe('+1:02.345');
    expect(fmtOffset(0)).toBe('+0:00.000');
    expect(fmtOffset(3_723_004)).toBe('+1:02:03.004');
    expect(fmtOffset(-1500)).toBe('-0:01.500');
    expect(fmtClock(75_000)).toBe('1:15');
  });

  it('never rounds a ratio below 1 up to 100 %', () => {
    expect(fmtPct(1)).toBe('100.00 %');
    expect(fmtPct(0.9994)).toBe('99.94 %');
    expect(fmtPct(0.9999992)).not.toMatch(/^100/);
    expect(fmtPct(0.9999992)).toBe('99.9999 %');
    expect(fmtPct(0.0000004)).not.toBe('0.00 %');
    expect(fmtPct(0)).toBe('0.00 %');
  });

  it('prints rates and compact axis numbers', () => {
    expect(fmtRate(19_987.4)).toBe('19,987 req/s');
    expect(fmtRate(12.5)).toBe('12.5 req/s');
    expect(fmtRate(0)).toBe('0 req/s');
    expect(fmtCompact(20_000)).toBe('20k');
    expect(fmtCompact(1500)).toBe('1.5k');
    expect(fmtCompact(2_000_000)).toBe('2M');
    expect(fmtCompact(0.5)).toBe('0.5');
    expect(fmtCompact(250)).toBe('250');
  });
});

describe('escape', () => {
  it('escapes HTML and XML; strips characters XML forbids', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const x = escapeXml('a\u0001b\u0000c\uFFFEd');
    expect(x).toBe('a\uFFFDb\uFFFDc\uFFFDd');
    expect(() => parseXml(`<r a="${escapeXmlAttr('x\ny"<&\u0002')}">${escapeXml(']]> & <x/>')}</r>`)).not.toThrow();
    expect(parseXml(`<r a="${escapeXmlAttr('x\ny')}"/>`).attrs['a']).toBe('x\ny');
  });

  it('embeds JSON in a script block without a "<"', () => {
    const v = { s: '</script><!-- \u2028', n: 1 };
    const out = jsonForScript(v);
    expect(out).not.toContain('<');
    expect(JSON.parse(out)).toEqual(v);
  });

  it('escapes markdown, keeps snake_case readable, fences code spans', () => {
    expect(escapeMd('a|b *c* [d](e) <script> http_error _x_')).toBe('a\\|b \\*c\\* \\[d\\](e) \\<script> http_error \\_x\\_');
    expect(escapeMd('line\nbreak')).toBe('line break');
    expect(mdCode('a`b')).toBe('``a`b``');
    expect(mdCode('`x`')).toBe('`` `x` ``');
    expect(mdCode('a|b', true)).toBe('`a\\|b`');
  });

  it('quotes CSV fields and defuses formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField(null)).toBe('');
    expect(csvField(502)).toBe('502');
  });
});
