import { readFileSync } from 'node:fs';
import type { z } from 'zod';

/**
 * A JSON file another process wrote, checked against `schema`; undefined when it is missing, cut short or not of
 * that shape. What such files hold is only ever a hint about the past, so a bad one is no error.
 */
export function readJsonFile<T>(path: string, schema: z.ZodType<T>): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
