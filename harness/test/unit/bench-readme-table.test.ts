import { describe, expect, it } from 'vitest';
import { renderBenchTable, replaceBenchTable, TABLE_BEGIN, TABLE_END } from '../../../scripts/bench/readme-table.js';

const common = 'full mode · 10 s × 3 run(s) · 2 CPUs · sha abc1234 · at start: load average: 0.10';
const entries = [
  {
    name: 'proxy: throughput',
    unit: 'req/s',
    value: 12345.4,
    range: '11000–13000',
    extra: `through zerodrop's proxy · proxy 62 µs/req · errors 0 · ${common}`,
  },
  { name: 'ratio: proxy ÷ HAProxy', unit: 'ratio', value: 0.5812, extra: `goal ≥ 0.8 · missed · ${common}` },
];

describe("the README's performance table comes from a bench run (issue 12 item 10)", () => {
  it('renders every entry with its value, range and detail, and says once what they share', () => {
    const t = renderBenchTable(entries, 'reports/bench/20261204-130000.json');
    expect(t).toContain("| proxy: throughput | 12,345 req/s | 11000–13000 | through zerodrop's proxy · proxy 62 µs/req · errors 0 |");
    expect(t).toContain('| ratio: proxy ÷ HAProxy | 0.581 | — | goal ≥ 0.8 · missed |');
    expect(t).toContain(`From \`reports/bench/20261204-130000.json\`: ${common}.`);
  });

  it('rewrites only the block between the markers; no markers is an error, not a guess', () => {
    const readme = `# x\n\n${TABLE_BEGIN}\nold table\n${TABLE_END}\n\nafter\n`;
    const next = replaceBenchTable(readme, 'NEW');
    expect(next).toBe(`# x\n\n${TABLE_BEGIN}\nNEW\n${TABLE_END}\n\nafter\n`);
    expect(() => replaceBenchTable('# no markers\n', 'NEW')).toThrow(/has no/);
  });
});
