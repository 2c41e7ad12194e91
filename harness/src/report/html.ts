/**
 * report.html: one self-contained file (inline CSS, inline SVG, one tiny inline script for
 * sortable tables, the RunResult embedded as JSON). No CDN, no fetch, no external reference:
 * it works from file:// and as a CI artifact, and a Content-Security-Policy says so.
 */
import type { RunResult } from '../result/types.js';
import { renderChartsHtml } from './charts.js';
import {
  type Block,
  buildReportDoc,
  type Cell,
  type DocOptions,
  type Inline,
  type ReportDoc,
  type Rich,
  type Section,
  type Tone,
  VERDICT_TONE,
} from './doc.js';
import { escapeHtml, jsonForScript } from './escape.js';
import { grafanaRunUrl } from './grafana-link.js';

function isRelativeHref(href: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:/i.test(href) && !href.startsWith('//');
}

function inline(x: Inline): string {
  if (typeof x === 'string') return escapeHtml(x);
  let s = escapeHtml(x.text);
  if (x.code) s = `<code>${s}</code>`;
  if (x.strong) s = `<strong>${s}</strong>`;
  if (x.tone) s = `<span class="${x.tone}">${s}</span>`;
  if (x.href !== undefined && isRelativeHref(x.href)) s = `<a href="${escapeHtml(encodeURI(x.href))}">${s}</a>`;
  return s;
}

export function richToHtml(r: Rich): string {
  return Array.isArray(r) ? r.map(inline).join('') : inline(r);
}

function cell(c: Cell, tag: 'td', align: string): string {
  const isSorted = typeof c === 'object' && !Array.isArray(c) && 'rich' in c;
  const rich = isSorted ? c.rich : c;
  const sortAttr = isSorted && c.sort !== null ? ` data-v="${escapeHtml(String(c.sort))}"` : '';
  return `<${tag}${align}${sortAttr}>${richToHtml(rich)}</${tag}>`;
}

const ALIGN = { l: '', r: ' class="r"', c: ' class="c"' } as const;
const CALLOUT_TONE: Record<string, Tone> = { caution: 'bad', warning: 'warn', note: 'muted' };

function blockToHtml(b: Block, r: RunResult): string {
  switch (b.kind) {
    case 'para':
      return `<p>${richToHtml(b.content)}</p>`;
    case 'callout':
      return `<div class="callout ${CALLOUT_TONE[b.tone] ?? 'warn'}" role="alert"><strong>${escapeHtml(b.title)}</strong>: ${richToHtml(b.content)}</div>`;
    case 'table': {
      const head = b.head.map((h, i) => `<th${ALIGN[b.align[i] ?? 'l']}>${escapeHtml(h)}</th>`).join('');
      const rows = b.rows
        .map((row, ri) => {
          const tone = b.rowTone?.[ri];
          return `<tr${tone ? ` class="row-${tone}"` : ''}>${row.map((c, i) => cell(c, 'td', ALIGN[b.align[i] ?? 'l'])).join('')}</tr>`;
        })
        .join('\n');
      const note = b.note ? `<p class="note">${richToHtml(b.note)}</p>` : '';
      return `<div class="table-wrap"><table${b.sortable ? ' class="sortable"' : ''}><thead><tr>${head}</tr></thead><tbody>\n${rows}\n</tbody></table></div>${note}`;
    }
    case 'facts':
      return `<dl class="facts">${b.items.map((it) => `<dt>${escapeHtml(it.label)}</dt><dd>${richToHtml(it.value)}</dd>`).join('')}</dl>`;
    case 'figures':
      return `<div class="figures">${b.items
        .map(
          (f) =>
            `<div class="figure${f.tone ? ` ${f.tone}` : ''}"><div class="label">${escapeHtml(f.label)}</div><div class="value">${escapeHtml(f.value)}</div>${
              f.sub ? `<div class="sub">${escapeHtml(f.sub)}</div>` : ''
            }</div>`,
        )
        .join('')}</div>`;
    case 'heading':
      return `<h3${b.id ? ` id="${escapeHtml(b.id)}"` : ''}>${richToHtml(b.text)}</h3>`;
    case 'list':
      return `<ul>${b.items.map((it) => `<li>${richToHtml(it)}</li>`).join('')}</ul>`;
    case 'details':
      return `<details><summary>${escapeHtml(b.summary)}</summary>${b.blocks.map((x) => blockToHtml(x, r)).join('\n')}</details>`;
    case 'code':
      return `<pre><code>${escapeHtml(b.text)}</code></pre>`;
    case 'columns':
      return `<div class="columns">${b.blocks.map((x) => `<div>${blockToHtml(x, r)}</div>`).join('')}</div>`;
    case 'charts':
      return renderChartsHtml(r);
  }
}

function sectionToHtml(s: Section, r: RunResult): string {
  return `<section id="${escapeHtml(s.id)}">\n<h2>${escapeHtml(s.title)}</h2>\n${s.blocks.map((b) => blockToHtml(b, r)).join('\n')}\n</section>`;
}

const CSS = `
:root{--ok:#15803d;--bad:#b91c1c;--warn:#b45309;--muted:#6b7280;--line:#e5e7eb;--bg:#f9fafb}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#111827;background:#fff}
main{max-width:1200px;margin:0 auto;padding:24px 20px 64px}
h1{font-size:24px;margin:0 0 8px}h2{font-size:19px;margin:36px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}h3{font-size:15px;margin:22px 0 8px}
code{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f3f4f6;padding:1px 4px;border-radius:3px;word-break:break-all}
pre{background:#f3f4f6;padding:12px;border-radius:6px;overflow:auto}pre code{background:none;padding:0;word-break:normal}
a{color:#1d4ed8}
.banner{border-radius:8px;padding:14px 18px;margin:0 0 14px;color:#fff;font-size:15px}
.banner .verdict{font-size:26px;font-weight:700;letter-spacing:.5px;margin-right:10px}
.banner.PASS{background:#15803d}.banner.FAIL{background:#b91c1c}.banner.INVALID{background:#b45309}
.callout{border:2px solid;border-radius:6px;padding:10px 14px;margin:0 0 14px;font-size:15px}
.callout.bad{border-color:var(--bad);background:#fef2f2;color:#7f1d1d}.callout.warn{border-color:var(--warn);background:#fffbeb;color:#78350f}.callout.muted{border-color:var(--line);background:var(--bg)}
.ok{color:var(--ok)}.bad{color:var(--bad)}.warn{color:var(--warn)}.muted{color:var(--muted)}
nav.toc{font-size:13px;margin:6px 0 0;color:var(--muted)}nav.toc a{margin-right:12px;text-decoration:none}
p.grafana{font-size:13px;margin:6px 0 0;color:var(--muted)}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(172px,1fr));gap:10px;margin:14px 0}
.figure{border:1px solid var(--line);border-radius:6px;padding:8px 12px;background:var(--bg)}
.figure .label{font-size:12px;color:var(--muted)}.figure .value{font-size:20px;font-weight:650;white-space:nowrap}.figure .sub{font-size:12px;color:var(--muted)}
.figure.ok .value{color:var(--ok)}.figure.bad{border-color:#fca5a5;background:#fef2f2}.figure.bad .value{color:var(--bad)}.figure.warn .value{color:var(--warn)}
.table-wrap{overflow-x:auto;margin:8px 0}
table{border-collapse:collapse;font-size:13px;min-width:40%}
td code{word-break:normal;white-space:nowrap}
th,td{border-bottom:1px solid var(--line);padding:4px 10px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600;white-space:nowrap}
td.r,th.r{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}td.c,th.c{text-align:center}
tbody tr:nth-child(even){background:#fcfcfd}
tr.row-bad{background:#fef2f2!important}tr.row-warn{background:#fffbeb!important}
table.sortable th{cursor:pointer;user-select:none}table.sortable th:hover{background:#eef2ff}
th[aria-sort=ascending]::after{content:" ▲";font-size:10px}th[aria-sort=descending]::after{content:" ▼";font-size:10px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:3px 16px;margin:8px 0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}
.columns{display:flex;flex-wrap:wrap;gap:0 28px;align-items:flex-start}.columns>div{flex:0 1 auto}
.note{font-size:12.5px;color:var(--muted);margin:4px 0 10px}
figure{margin:12px 0}svg.chart{max-width:100%;height:auto;border:1px solid var(--line);border-radius:6px}
ol.markers{columns:2;font-size:12.5px;margin:4px 0 12px;padding-left:26px}ol.markers .t{font-variant-numeric:tabular-nums;color:var(--muted)}
.bands-legend{font-size:12.5px;color:var(--muted);margin:0}.swatch{display:inline-block;width:14px;height:10px;margin:0 4px 0 10px;border:1px solid #d1d5db;vertical-align:-1px}
details{margin:8px 0}summary{cursor:pointer;color:#1d4ed8}
footer{margin-top:40px;font-size:12px;color:var(--muted)}
@media print{.table-wrap{overflow:visible}nav.toc{display:none}}
`;

/** Sortable tables: click a header. Numbers come from data-v when a cell has one. */
const SORT_JS = `
(function(){
  function key(td){var v=td.getAttribute('data-v');if(v===null)v=td.textContent.trim();var n=Number(v);return v!==''&&!isNaN(n)?n:v.toLowerCase();}
  document.querySelectorAll('table.sortable').forEach(function(table){
    table.querySelectorAll('th').forEach(function(th,col){
      th.addEventListener('click',function(){
        var asc=th.getAttribute('aria-sort')!=='ascending';
        table.querySelectorAll('th').forEach(function(h){h.removeAttribute('aria-sort');});
        th.setAttribute('aria-sort',asc?'ascending':'descending');
        var body=table.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
        rows.sort(function(a,b){var x=key(a.cells[col]),y=key(b.cells[col]);if(typeof x!==typeof y){x=String(x);y=String(y);}return (x<y?-1:x>y?1:0)*(asc?1:-1);});
        rows.forEach(function(r){body.appendChild(r);});
      });
    });
  });
})();
`;

const CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

export function docToHtml(doc: ReportDoc, r: RunResult): string {
  const toc = doc.sections.map((s) => `<a href="#${escapeHtml(s.id)}">${escapeHtml(s.title.replace(/:.*$/, ''))}</a>`).join('');
  const banner = `<div class="banner ${doc.verdict}"><span class="verdict">${escapeHtml(doc.verdict)}</span>${escapeHtml(
    r.run.complete ? '' : 'INCOMPLETE RUN · ',
  )}zerodrop · ${escapeHtml(r.run.scenario.name)}</div>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="generator" content="zerodrop ${escapeHtml(r.tool.version)}">
<title>${escapeHtml(doc.title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header>
${banner}
${doc.alerts.map((b) => blockToHtml(b, r)).join('\n')}
<h1 class="${VERDICT_TONE[doc.verdict]}">${escapeHtml(doc.headline)}</h1>
${doc.lead.map((b) => blockToHtml(b, r)).join('\n')}
<nav class="toc">${toc}</nav>
${grafanaLine(r)}
</header>
${doc.sections.map((s) => sectionToHtml(s, r)).join('\n')}
<footer>Rendered from <code>result.json</code> by zerodrop ${escapeHtml(r.tool.version)} (<code>zerodrop report &lt;dir&gt;</code> renders it again). The full RunResult is embedded in this file: <code>JSON.parse(document.getElementById('run-data').textContent)</code>.</footer>
</main>
<script type="application/json" id="run-data">${jsonForScript(r)}</script>
<script>${SORT_JS}</script>
</body>
</html>
`;
}

/** A link (navigation only: nothing is fetched) to this run in Grafana, with its id and time range. */
function grafanaLine(r: RunResult): string {
  const note =
    r.prometheus.mode === 'off'
      ? ' (this run had no Prometheus: --prometheus auto or a URL puts one in the loop, and the dashboard then has its data)'
      : ' (a Grafana elsewhere: same path on its address; Prometheus must hold this run, e.g. its replayed snapshot)';
  return `<p class="grafana"><a id="grafana-link" href="${escapeHtml(grafanaRunUrl(r))}" rel="noopener noreferrer">Open this run in Grafana</a>${escapeHtml(note)}</p>`;
}

/** report.html */
export function renderHtml(result: RunResult, options: DocOptions = {}): string {
  return docToHtml(buildReportDoc(result, options), result);
}
