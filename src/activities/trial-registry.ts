import { mkdirSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { procStat } from './proc-stat.js';

/**
 * The process groups of this worker's running trials: one empty file per group, named `<pgid>-<start ticks>`
 * (the start time, /proc/<pid>/stat field 22, tells our process from a reused PID), in a directory named after
 * the worker's queue. A worker that starts on a GPU first kills whatever its predecessor there left running.
 * A create and an unlink per trial: no rewrite of a shared file, nothing torn by a crash mid-write.
 */
export class TrialRegistry {
  private readonly files = new Map<number, string>();

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** Kills leftovers of a previous worker on this queue; returns how many groups were still alive. */
  reapLeftovers(): number {
    let killed = 0;
    for (const name of readdirSync(this.dir)) {
      const [pgid, started] = name.split('-');
      if (pgid && started && procStat(Number(pgid))?.startTicks === started) {
        try {
          process.kill(-Number(pgid), 'SIGKILL');
          killed++;
        } catch {
          // Gone between the check and the kill.
        }
      }
      unlinkSync(join(this.dir, name));
    }
    return killed;
  }

  add(pgid: number): void {
    const started = procStat(pgid)?.startTicks;
    if (started === undefined) return;
    const file = join(this.dir, `${pgid}-${started}`);
    writeFileSync(file, '');
    this.files.set(pgid, file);
  }

  remove(pgid: number): void {
    const file = this.files.get(pgid);
    if (!file) return;
    this.files.delete(pgid);
    unlinkSync(file);
  }
}
