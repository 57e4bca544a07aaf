import { existsSync, readFileSync } from 'node:fs';

/**
 * The line a trial's supervisor (or a worker class's process) writes the moment the command exits:
 * `<status> <runId> <worker> [<startedMs> <endedMs>]`. The times are the command's own, taken beside it rather
 * than in the worker's event loop, so the idle gaps between trials are measured where the GPU sees them.
 */
export interface ExitRecord {
  readonly status: number;
  readonly runId: string;
  readonly worker: string;
  readonly startedAt?: number;
  readonly endedAt?: number;
}

const MILLIS = /^\d{13}$/;

/** A time as `date +%s%3N` prints it; undefined for anything else (a date without %N prints `…%3N`). */
export function parseMillis(text: string): number | undefined {
  return MILLIS.test(text) ? Number(text) : undefined;
}

export function readExitRecord(file: string): ExitRecord | undefined {
  if (!existsSync(file)) return undefined;
  const [status, runId, worker = '', started = '', ended = ''] = readFileSync(file, 'utf8').trim().split(' ');
  if (status === undefined || !/^\d+$/.test(status) || !runId) return undefined;
  // `date +%s%3N` without GNU date (busybox, BSD) prints something else: the worker's own clock stands in.
  const [startedAt, endedAt] = [parseMillis(started), parseMillis(ended)];
  const timed = startedAt !== undefined && endedAt !== undefined && endedAt >= startedAt;
  return { status: Number(status), runId, worker, ...(timed ? { startedAt, endedAt } : {}) };
}
