/**
 * Rounds to 12 significant digits, as mlframework printed floats: 0.1 * 3 gives 0.3, not
 * 0.30000000000000004. Integers and short decimals come back unchanged.
 */
export function round12(value: number): number {
  if (!Number.isFinite(value) || Number.isInteger(value)) return value;
  return Number(value.toPrecision(12));
}

/** A parameter value as it appears on a command line, in a trial name or in an environment variable. */
export function formatScalar(value: string | number | boolean | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(round12(value));
  return String(value);
}
