/**
 * The report's document model: sections of paragraphs, tables, facts and figures, with the tones
 * and marks both renderers share (docs/architecture.md, "The data path": reports are rendered from
 * result.json alone). doc.ts builds it, markdown.ts and html.ts render it.
 */
import type { CheckStatus, Verdict } from '../result/types.js';
import { fmtInt, fmtMs, fmtOffset } from './format.js';

export type Tone = 'ok' | 'bad' | 'warn' | 'muted';

export interface Span {
  text: string;
  code?: boolean;
  strong?: boolean;
  tone?: Tone;
  /** A relative link (an artifact next to the report); never rendered for absolute URLs. */
  href?: string;
}
export type Inline = string | Span;
export type Rich = Inline | Inline[];
/** A table cell; `sort` gives HTML's sortable tables the value behind "850 µs". */
export type Cell = Rich | { rich: Rich; sort: number | string | null };
export type Align = 'l' | 'r' | 'c';

export interface TableBlock {
  kind: 'table';
  head: string[];
  align: Align[];
  rows: Cell[][];
  /** Row tone (a failed check, a reconciliation row that doesn't hold). */
  rowTone?: (Tone | null)[];
  sortable?: boolean;
  /** Shown under the table ("… and 12 more"). */
  note?: Inline[];
}
export type Block =
  | { kind: 'para'; content: Inline[] }
  | { kind: 'callout'; tone: 'caution' | 'warning' | 'note'; title: string; content: Inline[] }
  | TableBlock
  | { kind: 'facts'; items: { label: string; value: Rich }[] }
  | { kind: 'figures'; items: Figure[] }
  | { kind: 'heading'; text: Rich; id?: string }
  | { kind: 'list'; items: Inline[][] }
  | { kind: 'details'; summary: string; blocks: Block[] }
  | { kind: 'code'; lang: string; text: string }
  /** Side by side in HTML, one after the other in markdown. */
  | { kind: 'columns'; blocks: Block[] }
  /** The SVG charts (HTML only). */
  | { kind: 'charts' };

export interface Figure {
  label: string;
  value: string;
  sub?: string;
  tone?: Tone;
}

export interface Section {
  id: string;
  title: string;
  blocks: Block[];
}

export interface ReportDoc {
  /** Plain text for <title>. */
  title: string;
  verdict: Verdict;
  /** The H1 of report.md: verdict and scenario. */
  heading: string;
  /** Loud warnings that go above everything else (incomplete run, invalid run). */
  alerts: Block[];
  /** One line, from result.headline. */
  headline: string;
  /** Run line and key figures. */
  lead: Block[];
  sections: Section[];
}

export interface DocOptions {
  /** Artifact file names to list (relative to the report); defaults to result.artifacts. */
  artifacts?: Record<string, string>;
  /** Most rows in the failure tables. */
  maxFailureRows?: number;
  /** Most rows in the event log. */
  maxEventRows?: number;
}

// ---------------------------------------------------------------------------------------------

export const VERDICT_MARK: Record<Verdict, string> = { PASS: '✅', FAIL: '❌', INVALID: '⚠️' };
export const STATUS_MARK: Record<CheckStatus, string> = { pass: '✓', fail: '✗', invalid: '!', skip: '–' };
export const STATUS_TONE: Record<CheckStatus, Tone> = { pass: 'ok', fail: 'bad', invalid: 'warn', skip: 'muted' };
export const VERDICT_TONE: Record<Verdict, Tone> = { PASS: 'ok', FAIL: 'bad', INVALID: 'warn' };

export const code = (text: string): Span => ({ text, code: true });
export const strong = (text: string, tone?: Tone): Span => (tone ? { text, strong: true, tone } : { text, strong: true });
export const toned = (text: string, tone: Tone): Span => ({ text, tone });
export const sorted = (rich: Rich, sort: number | string | null): Cell => ({ rich, sort });
export const num = (n: number | null | undefined): Cell => sorted(fmtInt(n), n ?? null);
export const ms = (n: number | null | undefined): Cell => sorted(fmtMs(n), n ?? null);
export const at = (n: number | null | undefined): Cell => sorted(fmtOffset(n), n ?? null);
/** A count that must be zero: red when it isn't. */
export const zeroCount = (n: number, tone: Tone = 'bad'): Cell => sorted(n === 0 ? '0' : strong(fmtInt(n), tone), n);
