/**
 * The Grafana dashboard (grafana/dashboards/zerodrop.json) as data: its structural rules, and
 * every PromQL it sends (panel targets, annotations, the run_id variable) with Grafana's variables
 * substituted, so a test (or `zerodrop`) can run each one against a real Prometheus. Classic JSON
 * model (observability.md 2.1–2.4): panels reference the data source through the datasource-type
 * variable DS_PROMETHEUS, annotations come from Prometheus series with an explicit 1 s step.
 */
import { readFileSync } from 'node:fs';

export const DS_UID = '${DS_PROMETHEUS}';

interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

interface DsRef {
  type?: string;
  uid?: string;
}

interface Target {
  refId?: string;
  expr?: string;
  datasource?: DsRef;
  instant?: boolean;
  range?: boolean;
}

interface Panel {
  id?: number;
  type?: string;
  title?: string;
  gridPos?: GridPos;
  datasource?: DsRef;
  targets?: Target[];
  panels?: Panel[];
}

interface Annotation {
  name?: string;
  expr?: string;
  step?: string;
  datasource?: DsRef;
  target?: { expr?: string; interval?: string };
  enable?: boolean;
}

interface Variable {
  name?: string;
  type?: string;
  sort?: number;
  regex?: string;
  query?: unknown;
  definition?: string;
  datasource?: DsRef;
}

export interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: Panel[];
  templating?: { list?: Variable[] };
  annotations?: { list?: Annotation[] };
  __inputs?: unknown;
}

export function loadDashboard(file: string): Dashboard {
  return JSON.parse(readFileSync(file, 'utf8')) as Dashboard;
}

/** Every panel, rows' nested panels included. */
export function allPanels(d: Dashboard): Panel[] {
  const out: Panel[] = [];
  for (const p of d.panels ?? []) {
    out.push(p);
    for (const c of p.panels ?? []) out.push(c);
  }
  return out;
}

export interface DashboardQuery {
  kind: 'panel' | 'annotation' | 'variable';
  /** "Panel title / refId", "annotation Zone down", "variable run_id". */
  where: string;
  expr: string;
  /** true: evaluated as an instant query by Grafana. */
  instant: boolean;
  /** The title of the row a panel sits in (null: above the first row, or not a panel). */
  row?: string | null;
}

/** The row that shows writes, the volume and secrets: it has data only when the load writes. */
export const STATE_ROW_PREFIX = 'State';

/** Each panel with the title of the row it sits in (a collapsed row's own panels, or those after an open row). */
function panelsWithRows(d: Dashboard): Array<{ panel: Panel; row: string | null }> {
  const out: Array<{ panel: Panel; row: string | null }> = [];
  let row: string | null = null;
  for (const p of d.panels ?? []) {
    if (p.type === 'row') row = p.title ?? null;
    out.push({ panel: p, row });
    for (const c of p.panels ?? []) out.push({ panel: c, row: p.title ?? null });
  }
  return out;
}

export function dashboardQueries(d: Dashboard): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  for (const { panel: p, row } of panelsWithRows(d)) {
    for (const t of p.targets ?? []) {
      if (t.expr)
        out.push({ kind: 'panel', where: `${p.title ?? p.id} / ${t.refId ?? '?'}`, expr: t.expr, instant: t.instant === true && t.range !== true, row });
    }
  }
  for (const a of d.annotations?.list ?? []) {
    const expr = a.target?.expr ?? a.expr;
    if (expr) out.push({ kind: 'annotation', where: `annotation ${a.name ?? '?'}`, expr, instant: false });
  }
  for (const v of d.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : ((v.query as { query?: string } | undefined)?.query ?? v.definition ?? '');
    if (q) out.push({ kind: 'variable', where: `variable ${v.name ?? '?'}`, expr: q, instant: true });
  }
  return out;
}

/** Grafana's variables in an expression, e.g. { run_id: 'x', __rate_interval: '4s', __interval: '1s', __range: '5m' }. */
export function substitute(expr: string, vars: Record<string, string>): string {
  return expr.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\}|\$([A-Za-z_][A-Za-z0-9_]*)|\[\[([A-Za-z_][A-Za-z0-9_]*)\]\]/g,
    (m, a?: string, b?: string, c?: string) => {
      const name = a ?? b ?? c ?? '';
      return Object.prototype.hasOwnProperty.call(vars, name) ? (vars[name] as string) : m;
    },
  );
}

/** `label_values(metric, label)` → its parts, or null (variables are not PromQL). */
export function parseLabelValues(q: string): { metric: string | null; label: string } | null {
  const m = /^\s*label_values\(\s*(?:([^,]+?)\s*,\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$/.exec(q);
  if (!m) return null;
  return { metric: m[1] ?? null, label: m[2] as string };
}

/** `query_result(expr)` → expr, or null. */
export function parseQueryResult(q: string): string | null {
  const m = /^\s*query_result\(([\s\S]*)\)\s*$/.exec(q);
  return m ? (m[1] as string) : null;
}

/** Structural problems, in words (empty = fine). */
export function dashboardProblems(d: Dashboard): string[] {
  const problems: string[] = [];
  if (!d.title) problems.push('no title');
  if (!d.uid || d.uid.length < 8 || d.uid.length > 40 || !/^[A-Za-z0-9_-]+$/.test(d.uid))
    problems.push(`uid "${d.uid ?? ''}" must be 8–40 characters [A-Za-z0-9_-]`);
  if (typeof d.schemaVersion !== 'number') problems.push('no schemaVersion');
  // Import fills ${DS_PROMETHEUS} from __inputs; provisioning ignores it and uses the variable of the same name.
  const inputs = Array.isArray(d.__inputs) ? (d.__inputs as { name?: string; type?: string; pluginId?: string }[]) : [];
  if (!inputs.some((i) => i.name === 'DS_PROMETHEUS' && i.type === 'datasource' && i.pluginId === 'prometheus')) {
    problems.push('__inputs: a datasource input DS_PROMETHEUS (pluginId prometheus) is missing: Import would not ask for the Prometheus');
  }

  const vars = d.templating?.list ?? [];
  const ds = vars.find((v) => v.name === 'DS_PROMETHEUS');
  if (!ds || ds.type !== 'datasource' || ds.query !== 'prometheus') problems.push('variable DS_PROMETHEUS (type datasource, query prometheus) missing');
  const run = vars.find((v) => v.name === 'run_id');
  const runQuery = run ? (dashboardQueries({ templating: { list: [run] } })[0]?.expr ?? '') : '';
  const picker = parseQueryResult(runQuery);
  if (!run || run.type !== 'query' || (parseLabelValues(runQuery)?.label !== 'run_id' && !picker))
    problems.push('variable run_id (label_values(..., run_id) or query_result(...) by run_id) missing');
  // Newest first: run ids start with the scenario name, so only the query's own order (sort_desc by time) can do it.
  if (run && (!picker || !/^\s*sort_desc\(/.test(picker) || run.sort !== 0 || !/run_id=/.test(run.regex ?? ''))) {
    problems.push('variable run_id: runs must be listed newest first (query_result(sort_desc(... by (run_id) ...)), sort 0, a regex taking run_id)');
  }
  if (run && !isOurDatasource(run.datasource)) problems.push(`variable run_id: datasource must be ${DS_UID}`);

  const ids = new Set<number>();
  const boxes: { id: number; g: GridPos }[] = [];
  for (const p of allPanels(d)) {
    const name = `panel ${p.id ?? '?'} "${p.title ?? ''}"`;
    if (typeof p.id !== 'number') problems.push(`${name}: no numeric id`);
    else if (ids.has(p.id)) problems.push(`${name}: duplicate id ${p.id}`);
    else ids.add(p.id);
    const g = p.gridPos;
    if (!g || ![g.x, g.y, g.w, g.h].every((n) => Number.isInteger(n))) {
      problems.push(`${name}: gridPos missing or not whole numbers`);
    } else {
      if (g.x < 0 || g.y < 0 || g.w < 1 || g.h < 1) problems.push(`${name}: gridPos out of range`);
      if (g.x + g.w > 24) problems.push(`${name}: gridPos x ${g.x} + w ${g.w} > 24 columns`);
      for (const b of boxes) {
        if (g.x < b.g.x + b.g.w && b.g.x < g.x + g.w && g.y < b.g.y + b.g.h && b.g.y < g.y + g.h) problems.push(`${name}: overlaps panel ${b.id}`);
      }
      boxes.push({ id: p.id ?? -1, g });
    }
    if (p.type === 'row') continue;
    if (!p.title) problems.push(`${name}: no title`);
    if (!isOurDatasource(p.datasource)) problems.push(`${name}: datasource must be {type: prometheus, uid: ${DS_UID}}`);
    const targets = p.targets ?? [];
    if (targets.length === 0) problems.push(`${name}: no targets`);
    const refIds = new Set<string>();
    for (const t of targets) {
      if (!t.refId) problems.push(`${name}: a target without refId`);
      else if (refIds.has(t.refId)) problems.push(`${name}: duplicate refId ${t.refId}`);
      else refIds.add(t.refId);
      if (!t.expr) problems.push(`${name} ${t.refId ?? ''}: no expr`);
      if (!isOurDatasource(t.datasource)) problems.push(`${name} ${t.refId ?? ''}: target datasource must be ${DS_UID}`);
      if (t.expr && !t.expr.includes('$run_id')) problems.push(`${name} ${t.refId ?? ''}: not filtered by run_id="$run_id"`);
    }
  }

  const annotations = d.annotations?.list ?? [];
  if (annotations.length === 0) problems.push('no annotations');
  for (const a of annotations) {
    const name = `annotation "${a.name ?? ''}"`;
    if (!isOurDatasource(a.datasource)) problems.push(`${name}: datasource must be ${DS_UID}`);
    if (!a.expr && !a.target?.expr) problems.push(`${name}: no expr`);
    if (a.target?.expr && a.expr && a.target.expr !== a.expr) problems.push(`${name}: expr and target.expr differ`);
    // Grafana's legacy default step is 60 s: far too coarse for a run of a few minutes.
    if (!a.step || !/^\d+(ms|s)$/.test(a.step)) problems.push(`${name}: needs an explicit step in seconds (e.g. "1s"), got ${a.step ?? 'none'}`);
    if (a.target && a.target.interval !== a.step) problems.push(`${name}: target.interval must equal step`);
    if (!(a.target?.expr ?? a.expr ?? '').includes('$run_id')) problems.push(`${name}: not filtered by run_id="$run_id"`);
  }
  return problems;
}

function isOurDatasource(ds: DsRef | undefined): boolean {
  return ds?.type === 'prometheus' && ds.uid === DS_UID;
}
