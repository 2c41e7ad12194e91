/**
 * Escaping for every output format. Replica names, scenario names, commands and error texts
 * come from users: nothing reaches a report without passing through one of these.
 */

/**
 * Text or a double-quoted attribute value in HTML (and inline SVG, which must also be valid
 * XML): characters XML forbids (most C0 controls) become U+FFFD.
 */
export function escapeHtml(s: string): string {
  return s.replace(XML_INVALID, '\uFFFD').replace(/[&<>"']/g, (c) => HTML_ENTITIES[c] ?? c);
}

const HTML_ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Characters XML 1.0 forbids anywhere (most C0 controls, lone surrogates, U+FFFE/FFFF). */

const XML_INVALID = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** XML text content. Forbidden characters become U+FFFD so the file stays well-formed. */
export function escapeXml(s: string): string {
  return escapeHtml(s);
}

/** A double-quoted XML attribute value; keeps newlines and tabs (as character references). */
export function escapeXmlAttr(s: string): string {
  return escapeXml(s).replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

/**
 * JSON to embed in `<script type="application/json">`: `<` becomes `\u003c`, so neither
 * `</script>` nor `<!--` can end or change the block; U+2028/2029 are escaped as well.
 * `JSON.parse(el.textContent)` gives the value back unchanged.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * Inline markdown text (GitHub-flavoured): backslash-escapes the characters that would start
 * emphasis, code, links, tables or HTML. Newlines become spaces (a table cell is one line).
 */
export function escapeMd(s: string): string {
  return (
    s
      .replace(/\r?\n|\r/g, ' ')
      .replace(/[\\`*[\]|~]/g, (c) => `\\${c}`)
      // `_` only emphasises at a word boundary (GFM): keep snake_case readable in the raw file.
      .replace(/_/g, (c, i: number, all: string) => (/[\p{L}\p{N}]/u.test(all[i - 1] ?? '') && /[\p{L}\p{N}]/u.test(all[i + 1] ?? '') ? c : '\\_'))
      .replace(/<(?=[A-Za-z/!?])/g, '\\<')
      .replace(/&(?=#?\w+;)/g, '&amp;')
  );
}

/**
 * An inline code span that survives any content: the fence is longer than the longest run of
 * backticks inside. In a table cell, `|` must still be escaped (GFM splits cells first).
 */
export function mdCode(s: string, inTable = false): string {
  let body = s.replace(/\r?\n|\r/g, ' ');
  if (inTable) body = body.replace(/\|/g, '\\|');
  const longest = Math.max(0, ...[...body.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = body.startsWith('`') || body.endsWith('`') || body === '' ? ' ' : '';
  return `${fence}${pad}${body}${pad}${fence}`;
}

/** A fenced code block whose fence is longer than any backtick run in the content. */
export function mdFence(content: string, lang = ''): string {
  const longest = Math.max(0, ...[...content.matchAll(/`{3,}/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${lang}\n${content.replace(/\n$/, '')}\n${fence}`;
}

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. Text that a
 * spreadsheet would run as a formula (=, +, -, @ first) gets a leading apostrophe.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  let s = value;
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
