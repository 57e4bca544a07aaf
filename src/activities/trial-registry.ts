import { mkdirSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { readJsonFile } from '../host/json-file.js';
import { procStat } from './proc-stat.js';

/** What the worker that takes over a queue needs to know of one attempt its predecessor was running. */
export const registeredAttemptSchema = z.object({
  /** The activity's task token (base64): the successor reports the attempt's outcome with it. */
  taskToken: z.string(),
  trialId: z.string(),
  runId: z.string(),
  sweepId: z.string(),
  attempt: z.number().int().positive(),
  trialDir: z.string(),
  metric: z.object({ name: z.string(), goal: z.enum(['minimize', 'maximize']) }).optional(),
});
export type RegisteredAttempt = z.infer<typeof registeredAttemptSchema>;

/** A predecessor's attempt, with whether its process group was still alive (and so killed) at takeover. */
export interface LeftAttempt {
  readonly attempt: RegisteredAttempt;
  readonly wasAlive: boolean;
}

/**
 * The attempts this worker's queue is running: one small file per process group, named `<pgid>-<start ticks>`
 * (the start time, /proc/<pid>/stat field 22, tells our process from a reused PID), in a directory named after
 * the worker's queue, written before the command starts. A create and an unlink per attempt: no rewrite of a
 * shared file, nothing torn by a crash mid-write. Only the holder of the queue's lock may use it.
 */
export class TrialRegistry {
  private readonly files = new Map<number, string>();

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /**
   * Takes over what a dead predecessor on this queue left: kills its process groups that are still alive and
   * returns its attempts, whose outcomes the caller reports. Call only while holding the queue's lock.
   */
  takeOver(): LeftAttempt[] {
    const left: LeftAttempt[] = [];
    for (const name of readdirSync(this.dir)) {
      const file = join(this.dir, name);
      const [pgid, started] = name.split('-');
      const stat = pgid && started ? procStat(Number(pgid)) : undefined;
      // A zombie is gone: its parent (the dead worker) only never reaped it.
      const wasAlive = stat !== undefined && stat.startTicks === started && stat.state !== 'Z';
      if (wasAlive) {
        try {
          process.kill(-Number(pgid), 'SIGKILL');
        } catch {
          // Gone between the check and the kill.
        }
      }
      // An older worker's empty marker, or a file cut short by a crash: only its process group mattered.
      const attempt = readJsonFile(file, registeredAttemptSchema);
      if (attempt) left.push({ attempt, wasAlive });
      unlinkSync(file);
    }
    return left;
  }

  add(pgid: number, attempt: RegisteredAttempt): void {
    const started = procStat(pgid)?.startTicks;
    if (started === undefined) return;
    const file = join(this.dir, `${pgid}-${started}`);
    writeFileSync(file, JSON.stringify(attempt));
    this.files.set(pgid, file);
  }

  remove(pgid: number): void {
    const file = this.files.get(pgid);
    if (!file) return;
    this.files.delete(pgid);
    unlinkSync(file);
  }
}
