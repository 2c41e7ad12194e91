/**
 * Errors with a stable code and a "how to fix" line (the undici / fastify / vitest habit).
 * Every error a user can cause or meet names what went wrong, where, and what to do about it.
 */

/** Exit codes (docs/architecture.md, "Exit codes"): 0 pass · 1 a check failed · 2 bad usage or scenario · 3 inconclusive. */
export const ExitCode = {
  Pass: 0,
  CheckFailed: 1,
  BadUsage: 2,
  Inconclusive: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type ZerodropErrorCode =
  | 'ZD_BAD_USAGE'
  | 'ZD_BAD_SCENARIO'
  | 'ZD_BAD_SPEC'
  | 'ZD_REPLICA_START_FAILED'
  | 'ZD_REPLICA_NOT_READY'
  | 'ZD_REPLICA_NOT_FOUND'
  | 'ZD_RUNTIME_UNAVAILABLE'
  | 'ZD_IMAGE_BUILD_FAILED'
  | 'ZD_PROXY_FAILED'
  | 'ZD_DRIVER_FAILED'
  | 'ZD_PROMETHEUS_UNAVAILABLE'
  | 'ZD_TARGET_UNREACHABLE'
  | 'ZD_ROLLOUT_FAILED'
  | 'ZD_INTERRUPTED'
  | 'ZD_INTERNAL';

const exitCodeFor: Record<ZerodropErrorCode, ExitCode> = {
  ZD_BAD_USAGE: ExitCode.BadUsage,
  ZD_BAD_SCENARIO: ExitCode.BadUsage,
  ZD_BAD_SPEC: ExitCode.BadUsage,
  ZD_REPLICA_START_FAILED: ExitCode.Inconclusive,
  ZD_REPLICA_NOT_READY: ExitCode.Inconclusive,
  ZD_REPLICA_NOT_FOUND: ExitCode.Inconclusive,
  ZD_RUNTIME_UNAVAILABLE: ExitCode.Inconclusive,
  ZD_IMAGE_BUILD_FAILED: ExitCode.Inconclusive,
  ZD_PROXY_FAILED: ExitCode.Inconclusive,
  ZD_DRIVER_FAILED: ExitCode.Inconclusive,
  ZD_PROMETHEUS_UNAVAILABLE: ExitCode.Inconclusive,
  ZD_TARGET_UNREACHABLE: ExitCode.Inconclusive,
  ZD_ROLLOUT_FAILED: ExitCode.CheckFailed,
  ZD_INTERRUPTED: ExitCode.Inconclusive,
  ZD_INTERNAL: ExitCode.Inconclusive,
};

export interface ZerodropErrorOptions {
  /** One line telling the user what to do about it. */
  fix?: string;
  /** Evidence: log tail, the failing URL, the field path... */
  details?: string[];
  cause?: unknown;
}

export class ZerodropError extends Error {
  readonly code: ZerodropErrorCode;
  readonly fix: string | undefined;
  readonly details: string[];
  readonly exitCode: ExitCode;

  constructor(code: ZerodropErrorCode, message: string, options: ZerodropErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ZerodropError';
    this.code = code;
    this.fix = options.fix;
    this.details = options.details ?? [];
    this.exitCode = exitCodeFor[code];
  }

  /** Multi-line text for a terminal: the message, the evidence, then the fix. */
  format(): string {
    const lines = [`${this.code}: ${this.message}`];
    for (const d of this.details) lines.push(`  ${d}`);
    if (this.fix) lines.push(`  how to fix: ${this.fix}`);
    return lines.join('\n');
  }
}

export function isZerodropError(err: unknown): err is ZerodropError {
  return err instanceof ZerodropError;
}

/** Best-effort message of an unknown thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The errno-style code of a Node or undici error, if any (ECONNREFUSED, UND_ERR_SOCKET...). */
export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = err.code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}
