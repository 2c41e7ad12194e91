/**
 * Reports of a run, all rendered from one RunResult (result.json):
 * report.md, report.html, junit.xml, bench-*.json, failed-requests.csv, the GitHub job summary
 * and the terminal summary.
 */
export { ARTIFACT_FILES, readResult, renderArtifacts, rerender, serializeResult, validateRunResult, writeReports } from './write.js';
export type { WriteReportsOptions, WrittenReports } from './write.js';
export { renderMarkdown, renderStepSummary, STEP_SUMMARY_MAX_BYTES } from './markdown.js';
export type { StepSummaryOptions } from './markdown.js';
export { renderHtml } from './html.js';
export { renderJunit } from './junit.js';
export { renderBench } from './bench.js';
export type { BenchEntry, BenchFiles } from './bench.js';
export { FAILED_CSV_COLUMNS, failedCsvLines, renderFailedCsv } from './csv.js';
export { renderTerminalSummary } from './terminal.js';
export type { TerminalOptions } from './terminal.js';
export { writeFileAtomic } from './atomic.js';
export * from './format.js';
