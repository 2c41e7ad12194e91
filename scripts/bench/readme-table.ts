/**
 * The README's performance table, written from a bench run (issue 12 item 10): numbers in the
 * README come from `npm run bench`, never from memory. `npm run bench -- readme [file.json]` takes
 * the given bench output (default: the newest under reports/bench/) and rewrites the block between
 * the markers below in README.md. Rendering is pure; the command only reads and writes the files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { BenchEntry } from '../../harness/src/report/bench.js';

export const TABLE_BEGIN = '<!-- bench-table:begin (written by `npm run bench -- readme`; do not edit by hand) -->';
export const TABLE_END = '<!-- bench-table:end -->';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The markdown table of one bench run's entries, with where it came from. */
export function renderBenchTable(entries: readonly BenchEntry[], source: string): string {
  // The figures every entry shares (mode, CPUs, sha, load at start) are said once, under the table.
  const common = entries[0]?.extra?.split(' · ').filter((part) => entries.every((e) => e.extra?.split(' · ').includes(part))) ?? [];
  const lines = ['| measurement | value | range over runs | detail |', '|---|--:|--:|---|'];
  for (const e of entries) {
    const detail = (e.extra ?? '')
      .split(' · ')
      .filter((part) => !common.includes(part))
      .join(' · ');
    const value = e.unit === 'ratio' ? e.value.toFixed(3) : `${Math.round(e.value).toLocaleString('en-US')} ${e.unit}`;
    lines.push(`| ${cell(e.name)} | ${value} | ${e.range ?? '—'} | ${cell(detail)} |`);
  }
  lines.push('', `From \`${source}\`${common.length > 0 ? `: ${common.join(' · ')}` : ''}.`);
  return lines.join('\n');
}

/** README text with the block between the markers replaced; throws when the markers are missing. */
export function replaceBenchTable(readme: string, table: string): string {
  const from = readme.indexOf(TABLE_BEGIN);
  const to = readme.indexOf(TABLE_END);
  if (from < 0 || to < from) throw new Error(`README.md has no ${TABLE_BEGIN} … ${TABLE_END} block`);
  return `${readme.slice(0, from + TABLE_BEGIN.length)}\n${table}\n${readme.slice(to)}`;
}

/** The newest bench output (<stamp>.json) in dir, or null. */
export function newestBenchFile(dir: string): string | null {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^\d{8}-\d{6}\.json$/.test(n));
  } catch {
    return null;
  }
  const newest = names.sort().at(-1);
  return newest === undefined ? null : join(dir, newest);
}

/** Reads a bench output file: an array of entries, each with a name, a unit and a number. */
export function readBenchEntries(file: string): BenchEntry[] {
  const data: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(data) || data.length === 0) throw new Error(`${file}: not a bench output (an array of entries)`);
  for (const e of data as Array<Partial<BenchEntry>>) {
    if (typeof e.name !== 'string' || typeof e.unit !== 'string' || typeof e.value !== 'number')
      throw new Error(`${file}: an entry without name, unit and value`);
  }
  return data as BenchEntry[];
}

export function sourceLabel(file: string): string {
  return `reports/bench/${basename(file)}`;
}
