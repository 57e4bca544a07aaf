import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

interface Entry {
  readonly pgid: number;
  /** Start time in clock ticks (/proc/<pid>/stat field 22): tells our process from a reused PID. */
  readonly started: string;
}

function startTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * The process groups of this worker's running trials, in a file named after its queue. A worker that starts on
 * a GPU first kills whatever its predecessor on that queue left running there.
 */
export class TrialRegistry {
  private entries: Entry[] = [];

  constructor(private readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
  }

  /** Kills leftovers of a previous worker on this queue; returns how many groups were still alive. */
  reapLeftovers(): number {
    if (!existsSync(this.file)) return 0;
    let leftovers: Entry[] = [];
    try {
      leftovers = JSON.parse(readFileSync(this.file, 'utf8')) as Entry[];
    } catch {
      // A torn file from a crash mid-write: nothing trustworthy to reap.
    }
    let killed = 0;
    for (const entry of leftovers) {
      if (startTicks(entry.pgid) !== entry.started) continue;
      try {
        process.kill(-entry.pgid, 'SIGKILL');
        killed++;
      } catch {
        // Gone between the check and the kill.
      }
    }
    this.save();
    return killed;
  }

  add(pgid: number): void {
    const started = startTicks(pgid);
    if (started === undefined) return;
    this.entries.push({ pgid, started });
    this.save();
  }

  remove(pgid: number): void {
    this.entries = this.entries.filter((entry) => entry.pgid !== pgid);
    this.save();
  }

  private save(): void {
    const partial = `${this.file}.${process.pid}`;
    writeFileSync(partial, JSON.stringify(this.entries));
    renameSync(partial, this.file);
  }
}
