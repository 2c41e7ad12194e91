/**
 * Field types shared by the scenario schema and the timeline actions' schemas (their own module
 * so an action module can use them without importing the whole schema).
 */
import { z } from 'zod';
import { parseDuration } from './duration.js';

/** A duration: milliseconds as a number, or "250ms" / "10s" / "1m". Output: ms. */
export const duration = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `"${String(value)}" is not a duration` });
    return z.NEVER;
  }
  return ms;
});

export const intOrPercent = z.union([
  z.number().int().min(0),
  z.string().regex(/^\d+(\.\d+)?%$/, { message: 'must be a whole number or a percentage like "25%"' }),
]);

export const name = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/, {
  message: 'must be lowercase letters, digits and dashes (1–32 characters)',
});

export const version = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, {
  message: 'must be letters, digits, dots, dashes or underscores (1–63 characters)',
});

export const envMap = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string());
