// Explicit caps for broadcast updates, well inside Temporal's limits: an update travels as one Update payload
// (2 MiB hard limit) and all of them are carried through continue-as-new in the sweep's input (same limit),
// and each one is an Update in the run's history (2,000 per run at most).

export const MAX_UPDATE_BYTES = 64 * 1024;
export const MAX_UPDATES = 1000;
export const MAX_TOTAL_UPDATE_BYTES = 1024 * 1024;

/** Bytes of the JSON text in UTF-8: what the payload really weighs (`length` counts UTF-16 units). */
export function jsonBytes(value: unknown): number {
  let bytes = 0;
  for (const char of JSON.stringify(value)) {
    const code = char.codePointAt(0) ?? 0;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/** Why an update cannot be recorded, or undefined when it can. */
export function updateProblem(data: unknown, count: number, totalBytes: number): string | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    return 'an update must be a mapping of keys to values';
  const bytes = jsonBytes(data);
  if (Object.keys(data).length === 0) return 'an update must have at least one key';
  if (bytes > MAX_UPDATE_BYTES) return `the update is ${bytes} bytes as JSON; at most ${MAX_UPDATE_BYTES} are allowed`;
  if (count >= MAX_UPDATES) return `the sweep already has ${count} updates, the most it takes`;
  if (totalBytes + bytes > MAX_TOTAL_UPDATE_BYTES) {
    return `the sweep's updates would total ${totalBytes + bytes} bytes; at most ${MAX_TOTAL_UPDATE_BYTES} are allowed`;
  }
  return undefined;
}
