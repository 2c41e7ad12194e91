/**
 * grafana/dashboards/zerodrop.json typed against Grafana's own schema (@grafana/schema): the JSON
 * is compiled as a TypeScript literal assigned to `Dashboard`, so every field name, enum value
 * (variable type, hide, refresh, sort, cursor sync) and required field (a variable's `current`
 * needs text and value) is checked by the compiler. What Grafana's types leave out is named
 * here, not waved through: the export metadata (__inputs, __requires) and the fields of the
 * Prometheus data source's queries and annotations. String enums are compared by value (JSON has
 * "thresholds", TypeScript's FieldColorModeId.Thresholds is the same string).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { defaultDashboard } from '@grafana/schema';

const ROOT = join(import.meta.dirname, '../../..');
const dashboardText = readFileSync(join(ROOT, 'grafana/dashboards/zerodrop.json'), 'utf8');

const PRELUDE = `
import type { AnnotationQuery, Dashboard, DataQuery, Panel, RowPanel } from '@grafana/schema';
/** What an export adds for the Import dialog (Grafana's types describe the saved model only). */
interface ExportMeta {
  __inputs: { name: string; label: string; description?: string; type: 'datasource'; pluginId: string; pluginName: string }[];
  __requires: { type: 'grafana' | 'datasource' | 'panel'; id: string; name: string; version: string }[];
}
/** The Prometheus data source's query fields (its plugin schema is not part of @grafana/schema). */
type PromQuery = DataQuery & { expr: string; legendFormat?: string; instant?: boolean; range?: boolean; interval?: string; format?: 'time_series' | 'table' | 'heatmap'; editorMode?: 'code' | 'builder'; exemplar?: boolean; intervalFactor?: number };
/** Prometheus annotations keep their query at the top level too (the legacy fields Grafana still reads). */
type PromAnnotation = AnnotationQuery<PromQuery> & { expr: string; step: string; titleFormat: string; textFormat: string; tagKeys: string; useValueForTime: boolean };
type PromPanel = Omit<Panel, 'targets'> & { targets?: PromQuery[] };
type PromRow = Omit<RowPanel, 'panels'> & { panels: PromPanel[] };
/** JSON holds a string enum's values, not its members: FieldColorModeId.Thresholds is "thresholds" there. */
type Json<T> = T extends string ? \`\${T}\` : T extends readonly (infer U)[] ? Json<U>[] : T extends object ? { [K in keyof T]: Json<T[K]> } : T;
export type ZerodropDashboard = Json<Omit<Dashboard, 'panels' | 'annotations'> & ExportMeta & { panels: (PromPanel | PromRow)[]; annotations: { list: PromAnnotation[] } }>;
`;

/** Type-checks `export const dashboard: ZerodropDashboard = <json>;` and returns the compiler's messages. */
function typecheck(json: string): string[] {
  const file = join(ROOT, 'grafana', '__dashboard_typecheck__.ts');
  const source = `${PRELUDE}\nexport const dashboard: ZerodropDashboard = ${json};\n`;
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => (name === file ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? `${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : '';
    return `${where}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

describe('grafana/dashboards/zerodrop.json against @grafana/schema', () => {
  const dashboard = JSON.parse(dashboardText) as {
    schemaVersion: number;
    __inputs: { name: string; type: string; pluginId: string }[];
    __requires: { type: string; id: string; version: string }[];
    templating: { list: { name: string; current?: { text?: unknown; value?: unknown } }[] };
  };

  it('type-checks as a Dashboard', () => {
    expect(typecheck(dashboardText)).toEqual([]);
  }, 30_000);

  it('the type check can fail: a wrong enum, a wrong field type, a current without text and value', () => {
    const broken = JSON.parse(dashboardText) as { templating: { list: Record<string, unknown>[] }; panels: { gridPos: Record<string, unknown> }[] };
    broken.templating.list[1]!['type'] = 'picker';
    broken.templating.list[0]!['current'] = {};
    broken.panels[1]!.gridPos['w'] = 'wide';
    const problems = typecheck(JSON.stringify(broken, null, 2)).join('\n');
    expect(problems).toMatch(/"picker"/);
    expect(problems).toMatch(/text|value/);
    expect(problems).toMatch(/Type 'string' is not assignable to type 'number'/);
  }, 30_000);

  it("a schema version Grafana's schema knows, and __requires naming the Grafana that writes it", () => {
    expect(dashboard.schemaVersion).toBeLessThanOrEqual(defaultDashboard.schemaVersion);
    // Grafana 10.4 is the first release line whose dashboards all carry schemaVersion 39.
    const SINCE: Record<number, string> = { 39: '10.4.0' };
    const grafana = dashboard.__requires.find((r) => r.type === 'grafana');
    expect(grafana?.version).toBe(SINCE[dashboard.schemaVersion]);
    expect(dashboard.__requires.find((r) => r.type === 'datasource')?.id).toBe('prometheus');
  });

  it('Import asks for the Prometheus (__inputs), and every variable has a current value', () => {
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' })]);
    for (const v of dashboard.templating.list) {
      expect(typeof v.current?.text, v.name).toBe('string');
      expect(typeof v.current?.value, v.name).toBe('string');
    }
  });
});
