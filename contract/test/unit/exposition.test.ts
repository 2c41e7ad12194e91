import { describe, expect, it } from 'vitest';
import { ExpositionParseError, parseExposition, parseExpositionFull, sampleValue, sumTrafficResponses, trafficResponsesByCode } from '../../index.js';

const TEXT = `# HELP http_requests_total HTTP responses sent, counted when the response ends.
# TYPE http_requests_total counter
http_requests_total{code="200",route="/",method="GET"} 1027
http_requests_total{code="201",route="/echo",method="POST"} 3
http_requests_total{code="500",route="/work",method="GET"} 2
http_requests_total{code="404",route="unmatched",method="GET"} 1
http_requests_total{code="200",route="/healthz",method="GET"} 50
http_requests_total{code="200",route="/readyz",method="GET"} 40
http_requests_total{code="503",route="/readyz",method="GET"} 7
http_requests_total{code="200",route="/metrics",method="GET"} 9
# a plain comment
# HELP weird_gauge A help with a \\\\ backslash and a \\n newline.
# TYPE weird_gauge gauge
weird_gauge{path="C:\\\\dir",quote="say \\"hi\\"",nl="a\\nb"} -1.5e3 1700000000000
weird_gauge{empty=""} NaN
weird_gauge{ spaced = "x" , } +Inf
weird_gauge -Inf
untyped_thing 42

`;

describe('parseExposition', () => {
  it('reads samples, labels with escapes, special values and timestamps', () => {
    const { samples, types, help } = parseExpositionFull(TEXT);
    expect(samples).toHaveLength(13);
    expect(samples[0]).toEqual({ name: 'http_requests_total', labels: { code: '200', route: '/', method: 'GET' }, value: 1027 });
    const w = samples.filter((s) => s.name === 'weird_gauge');
    expect(w[0]).toEqual({
      name: 'weird_gauge',
      labels: { path: 'C:\\dir', quote: 'say "hi"', nl: 'a\nb' },
      value: -1500,
      timestampMs: 1700000000000,
    });
    expect(w[1]?.labels).toEqual({ empty: '' });
    expect(Number.isNaN(w[1]?.value)).toBe(true);
    expect(w[2]).toEqual({ name: 'weird_gauge', labels: { spaced: 'x' }, value: Infinity });
    expect(w[3]?.value).toBe(-Infinity);
    expect(types.get('http_requests_total')).toBe('counter');
    expect(types.get('weird_gauge')).toBe('gauge');
    expect(types.has('untyped_thing')).toBe(false);
    expect(help.get('weird_gauge')).toBe('A help with a \\ backslash and a \n newline.');
    expect(parseExposition(TEXT)).toEqual(samples);
  });

  it('accepts Go-style special values in any case (prom-client writes "Nan") and CRLF lines', () => {
    const s = parseExposition('a Nan\r\nb inf\r\nc -infinity\r\nd 1e-3\r\ne .5\r\n');
    expect(Number.isNaN(s[0]?.value)).toBe(true);
    expect(s.map((x) => x.value).slice(1)).toEqual([Infinity, -Infinity, 0.001, 0.5]);
  });

  it.each([
    ['m{a="1"', 3, /unterminated|expected , or }/],
    ['m{a=1} 2', 3, /expected " to open/],
    ['m{a="1",a="2"} 2', 3, /duplicate label a/],
    ['m{a="\\x"} 2', 3, /invalid escape/],
    ['m{1a="x"} 2', 3, /expected a label name/],
    ['m', 3, /expected a space before the value/],
    ['m abc', 3, /invalid value "abc"/],
    ['m 1 2 3', 3, /expected a value and an optional timestamp/],
    ['m 1 1.5', 3, /invalid timestamp/],
    ['{a="1"} 2', 3, /expected a metric name/],
    ['# TYPE m countr', 3, /unknown metric type "countr"/],
  ])('rejects %j with its line number', (bad, line, message) => {
    const text = `# HELP ok fine\nok 1\n${bad}\n`;
    let err: unknown;
    try {
      parseExposition(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ExpositionParseError);
    expect((err as ExpositionParseError).line).toBe(line);
    expect((err as Error).message).toMatch(message);
  });

  it('rejects a second # TYPE for the same family', () => {
    expect(() => parseExposition('# TYPE m counter\n# TYPE m gauge\n')).toThrow(/second # TYPE for m/);
  });
});

describe('sumTrafficResponses', () => {
  const samples = parseExposition(TEXT);

  it('sums http_requests_total over every route except the probe routes', () => {
    expect(sumTrafficResponses(samples)).toBe(1027 + 3 + 2 + 1);
  });

  it('filters by code and by metric name, and splits by code', () => {
    expect(sumTrafficResponses(samples, { code: (c) => c.startsWith('2') })).toBe(1030);
    expect(trafficResponsesByCode(samples)).toEqual({ '200': 1027, '201': 3, '500': 2, '404': 1 });
    expect(sumTrafficResponses(samples, { metric: 'nope_total' })).toBe(0);
    expect(sumTrafficResponses(samples, { probeRoutes: [] })).toBe(1033 + 50 + 47 + 9);
  });

  it('sampleValue sums the samples whose labels include the given ones', () => {
    expect(sampleValue(samples, 'http_requests_total', { route: '/readyz' })).toBe(47);
    expect(sampleValue(samples, 'http_requests_total', { route: '/nope' })).toBeUndefined();
    expect(sampleValue(samples, 'untyped_thing')).toBe(42);
  });
});
