/**
 * The `x-zerodrop-*` headers every part agrees on (docs/architecture.md, "The contract"). Lower case:
 * HTTP/1.1 header names are case-insensitive and the hot paths compare lower-cased bytes.
 */

/** Sent by the driver on every request; a service that keeps the contract echoes it on its answer. */
export const ID_HEADER = 'x-zerodrop-id';
/** The replica that served a response (the sample-app sets it; the driver interns it into the ledger). */
export const SERVED_BY_HEADER = 'x-served-by';
/** The version that served a response. */
export const VERSION_HEADER = 'x-version';
/** Sent by the orchestrator on its final read of a drained replica's counters. */
export const FINAL_READ_HEADER = 'x-zerodrop-final-read';

/** Headers the data plane adds. Kept short and few: they are written on the hot path. */
export const PROXY_HEADERS = {
  /** On responses that needed more than one attempt: the number of attempts. */
  attempts: 'x-zerodrop-attempts',
  /** On proxy-generated error responses: the replica of the last attempt. */
  upstream: 'x-zerodrop-upstream',
  /** On proxy-generated error responses: why (connect_error, reset, timeout, no_endpoints...). */
  error: 'x-zerodrop-error',
} as const;
