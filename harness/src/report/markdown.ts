/**
 * report.md and the GitHub job summary: GitHub-flavoured markdown rendered from the document
 * model (doc.ts). Everything user-supplied is escaped (escape.ts).
 */
import type { RunResult } from '../result/types.js';
import {
  type Block,
  buildReportDoc,
  type Cell,
  checkCountsLine,
  checksTable,
  disruptionSummaryTable,
  type DocOptions,
  incompleteCallout,
  type Inline,
  invalidCallout,
  keyFigures,
  latencyFacts,
  reconciliationBlocks,
  type ReportDoc,
  type Rich,
  runLine,
  type Section,
  VERDICT_MARK,
} from './doc.js';
import { escapeHtml, escapeMd, mdCode, mdFence } from './escape.js';

interface MdOptions {
  /** Longest text of one table cell (the job summary keeps cells short). */
  maxCell?: number;
}

function isRelativeHref(href: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:/i.test(href) && !href.startsWith('//');
}

function clip(s: string, max: number | undefined): string {
  return max !== undefined && s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function inline(x: Inline, inTable: boolean, o: MdOptions): string {
  if (typeof x === 'string') return escapeMd(clip(x, inTable ? o.maxCell : undefined));
  const text = clip(x.text, inTable ? o.maxCell : undefined);
  let s = x.code ? mdCode(text, inTable) : escapeMd(text);
  if (x.strong) s = `**${s}**`;
  if (x.href !== undefined && isRelativeHref(x.href)) s = `[${s}](${encodeURI(x.href).replace(/[()]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)})`;
  return s;
}

export function richToMd(r: Rich, inTable = false, o: MdOptions = {}): string {
  return Array.isArray(r) ? r.map((x) => inline(x, inTable, o)).join('') : inline(r, inTable, o);
}

function cellToMd(c: Cell, o: MdOptions): string {
  const rich = typeof c === 'object' && !Array.isArray(c) && 'rich' in c ? c.rich : c;
  return richToMd(rich, true, o);
}

const ALIGN_MD = { l: ':--', r: '--:', c: ':-:' } as const;

function blockToMd(b: Block, o: MdOptions): string {
  switch (b.kind) {
    case 'para':
      return richToMd(b.content, false, o);
    case 'callout': {
      const tag = b.tone === 'caution' ? 'CAUTION' : b.tone === 'warning' ? 'WARNING' : 'NOTE';
      return `> [!${tag}]\n> **${escapeMd(b.title)}**: ${richToMd(b.content, false, o)}`;
    }
    case 'table': {
      const row = (cells: string[]): string => `| ${cells.join(' | ')} |`;
      const lines = [
        row(b.head.map((h) => escapeMd(h))),
        row(b.head.map((_, i) => ALIGN_MD[b.align[i] ?? 'l'])),
        ...b.rows.map((r) => row(r.map((c) => cellToMd(c, o) || ' '))),
      ];
      if (b.note) lines.push('', richToMd(b.note, false, o));
      return lines.join('\n');
    }
    case 'facts':
      return b.items.map((it) => `- **${escapeMd(it.label)}**: ${richToMd(it.value, false, o)}`).join('\n');
    case 'figures': {
      const row = (cells: string[]): string => `| ${cells.join(' | ')} |`;
      return [
        row(b.items.map((f) => escapeMd(f.label))),
        row(b.items.map(() => '--:')),
        row(b.items.map((f) => `**${escapeMd(f.value)}**${f.sub ? `<br>${escapeMd(f.sub)}` : ''}`)),
      ].join('\n');
    }
    case 'heading':
      return `### ${richToMd(b.text, false, o)}`;
    case 'list':
      return b.items.map((it) => `- ${richToMd(it, false, o)}`).join('\n');
    case 'details': {
      const inner = b.blocks
        .map((x) => blockToMd(x, o))
        .filter(Boolean)
        .join('\n\n');
      return `<details><summary>${escapeHtml(b.summary)}</summary>\n\n${inner}\n\n</details>`;
    }
    case 'code':
      return mdFence(b.text, b.lang);
    case 'columns':
      return b.blocks
        .map((x) => blockToMd(x, o))
        .filter(Boolean)
        .join('\n\n');
    case 'charts':
      return '';
  }
}

function sectionToMd(s: Section, o: MdOptions): string {
  const body = s.blocks.map((b) => blockToMd(b, o)).filter(Boolean);
  return body.length ? `## ${escapeMd(s.title)}\n\n${body.join('\n\n')}` : '';
}

export function docToMarkdown(doc: ReportDoc, footer: string): string {
  const o: MdOptions = {};
  const parts = [
    `# ${escapeMd(doc.heading)}`,
    ...doc.alerts.map((b) => blockToMd(b, o)),
    `**${escapeMd(doc.headline)}**`,
    ...doc.lead.map((b) => blockToMd(b, o)),
  ];
  for (const s of doc.sections) {
    if (s.id === 'charts') {
      parts.push('## Timeline\n\nThe throughput, latency and replica charts are in `report.html` (one self-contained file).');
      continue;
    }
    parts.push(sectionToMd(s, o));
  }
  parts.push('---', footer);
  return `${parts.filter(Boolean).join('\n\n')}\n`;
}

/** report.md */
export function renderMarkdown(result: RunResult, options: DocOptions = {}): string {
  const doc = buildReportDoc(result, options);
  return docToMarkdown(doc, `_Rendered from \`result.json\` by zerodrop ${escapeMd(result.tool.version)}; \`zerodrop report <dir>\` renders it again._`);
}

// ---------------------------------------------------------------------------------------------

/** GitHub rejects a step's summary above 1 MiB; we stay far below. */
export const STEP_SUMMARY_MAX_BYTES = 100 * 1024;

export interface StepSummaryOptions {
  /** Where the HTML report is (shown as a path; CI uploads it as an artifact). */
  htmlPath?: string;
  maxBytes?: number;
}

/**
 * The job summary: verdict line, key figures, checks, reconciliation, disruption per event and
 * latency, and where report.html is. Sections that would push it past `maxBytes` are left out
 * (and say so); the verdict, figures and failed checks always fit.
 */
export function renderStepSummary(result: RunResult, options: StepSummaryOptions = {}): string {
  const max = options.maxBytes ?? STEP_SUMMARY_MAX_BYTES;
  const o: MdOptions = { maxCell: 300 };
  const md = (blocks: (Block | null)[]): string =>
    blocks
      .filter((b): b is Block => b !== null)
      .map((b) => blockToMd(b, o))
      .filter(Boolean)
      .join('\n\n');
  const r = result;
  const incomplete = r.run.complete ? '' : ' (INCOMPLETE)';
  const head = [
    `## ${VERDICT_MARK[r.verdict]} zerodrop ${r.verdict}${incomplete} · ${escapeMd(r.run.scenario.name)}`,
    md([incompleteCallout(r), invalidCallout(r), { kind: 'para', content: [{ text: r.headline, strong: true }] }, runLine(r), keyFigures(r)]),
  ].join('\n\n');
  const footer = options.htmlPath
    ? `📄 Full report: ${mdCode(options.htmlPath)} (one self-contained HTML file with the charts; upload the run directory as an artifact).`
    : '📄 Full report: `report.html` in the run directory.';

  const failing = r.checks.filter((c) => c.status === 'fail' || c.status === 'invalid');
  // Failed and invalid checks first: the reader of a red job wants those.
  const ordered = [...failing, ...r.checks.filter((c) => !failing.includes(c))];
  const optional: string[] = [
    `### Checks: ${checkCountsLine(r.checks)}\n\n${md([checksTable(ordered, true)])}`,
    `### Reconciliation\n\n${md(reconciliationBlocks(r))}`,
    `### Latency\n\n${md([latencyFacts(r)])}`,
    r.disruption.events.length ? `### Disruption\n\n${md([disruptionSummaryTable(r.disruption.events)])}` : '',
  ].filter(Boolean);
  const fallbackChecks = failing.length
    ? `### Failed checks (${failing.length} of ${r.checks.length})\n\n${md([checksTable(failing.slice(0, 50), true)])}`
    : '';

  const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');
  const joiner = '\n\n';
  let out = head;
  const tail = `${joiner}${footer}\n`;
  let skipped = 0;
  for (const [i, part] of optional.entries()) {
    if (bytes(out) + bytes(joiner) + bytes(part) + bytes(tail) + 200 <= max) {
      out += joiner + part;
    } else {
      if (i === 0 && fallbackChecks && bytes(out) + bytes(fallbackChecks) + bytes(tail) + 200 <= max) out += joiner + fallbackChecks;
      skipped += 1;
    }
  }
  if (skipped)
    out += `${joiner}_${skipped} section(s) left out to keep this summary under ${Math.round(max / 1024)} KB; they are in report.md and report.html._`;
  out += tail;
  // Last resort (absurdly long headline or names): hard cut on a line boundary.
  while (bytes(out) > max) out = `${out.slice(0, Math.floor(out.length * 0.9)).replace(/\n[^\n]*$/, '')}\n\n_(truncated)_\n`;
  return out;
}
