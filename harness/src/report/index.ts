/**
 * Reports of a run, all rendered from one RunResult (result.json):
 * report.md, report.html, junit.xml, bench-*.json, failed-requests.csv, the GitHub job summary
 * and the terminal summary.
 */
export { ARTIFACT_FILES, readResult, rerender, writeReports } from './write.js';
export { STEP_SUMMARY_MAX_BYTES } from './markdown.js';
export * from './format.js';
