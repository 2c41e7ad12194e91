/**
 * The contract every service and every part of zerodrop shares (docs/architecture.md, "The contract"):
 * probe routes, the `x-zerodrop-*` headers, the served counter and the exposition parser.
 * Nothing here imports anything but Node's own modules.
 */
export * from './src/probes.js';
export * from './src/headers.js';
export * from './src/counters.js';
export * from './src/exposition.js';
