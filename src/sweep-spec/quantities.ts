// Human-friendly durations, sizes and fractions in specs: `timeout: 2h30m`, `memory: 16GiB`, `75%`.
import { round12 } from './number-format.js';

const DURATION_UNITS: Record<string, number> = { d: 86400, h: 3600, m: 60, s: 1, ms: 0.001 };

/** `90`, `90s`, `1h30m`, `2d` → seconds; undefined when malformed or not positive. */
export function parseDurationSeconds(value: string | number): number | undefined {
  if (typeof value === 'number') return value > 0 ? value : undefined;
  const text = value.trim();
  if (!/^(\d+(\.\d+)?(d|h|ms|m|s)?)+$/.test(text)) return undefined;
  let seconds = 0;
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)(d|h|ms|m|s)?/g)) {
    seconds += Number(match[1]) * (DURATION_UNITS[match[2] ?? 's'] ?? 1);
  }
  return seconds > 0 ? seconds : undefined;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  mb: 1,
  mib: 1.048576,
  gb: 1000,
  gib: 1073.741824,
  tb: 1_000_000,
  tib: 1_099_511.627776,
};

/** `16GiB`, `512MB`, `8000` (megabytes) → megabytes; undefined when malformed or not positive. */
export function parseSizeMb(value: string | number): number | undefined {
  if (typeof value === 'number') return value > 0 ? value : undefined;
  const match = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(value.trim());
  const factor = SIZE_UNITS[(match?.[2] ?? '').toLowerCase()];
  if (!match || factor === undefined) return undefined;
  const mb = Math.round(Number(match[1]) * factor);
  return mb > 0 ? mb : undefined;
}

function fractionOfText(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim());
  return match ? Number(match[1]) / (match[2] === '%' ? 100 : 1) : undefined;
}

/** `0.75` or `75%` → 0.75; undefined when malformed or not in (0, 1]. */
export function parseFraction(value: string | number): number | undefined {
  const fraction = typeof value === 'number' ? value : fractionOfText(value);
  return fraction !== undefined && fraction > 0 && fraction <= 1 ? round12(fraction) : undefined;
}
