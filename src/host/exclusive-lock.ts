import { spawnSync } from 'node:child_process';
import { closeSync, constants, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { z } from 'zod';
import { readJsonFile } from './json-file.js';

const holderSchema = z.object({ pid: z.number(), host: z.string(), since: z.string(), what: z.string() });
/** Who holds a lock: written into the lock file by its holder, for the message a refused process prints. */
export type LockHolder = z.infer<typeof holderSchema>;

/** flock(1) exits with this when the lock is taken (`-E`); any other failure is its own. */
const LOCK_TAKEN = 75;

/**
 * A lock held for as long as this process lives: flock(2) on a file, which the kernel releases when the
 * process dies however it dies (SIGKILL, OOM), so there is no stale lock to clean up and no PID to trust.
 * Node has no flock, so flock(1) locks our own open file description through an inherited descriptor and
 * exits; the lock belongs to the description, which only this process keeps open (Node opens files
 * close-on-exec, so trial processes never inherit it).
 */
export class ExclusiveLock {
  /** The open descriptor that holds the lock; never closed, so the lock ends only with the process. */
  private constructor(readonly fd: number) {}

  /** Takes the lock, or returns who holds it. `what` says what the holder is (`worker q1`), for that message. */
  static acquire(path: string, what: string): ExclusiveLock | { readonly heldBy?: LockHolder } {
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644);
    const flock = spawnSync('flock', ['--nonblock', '--conflict-exit-code', String(LOCK_TAKEN), '3'], {
      stdio: ['ignore', 'ignore', 'pipe', fd],
    });
    if (flock.status !== 0) {
      closeSync(fd);
      // A lock taken a moment ago may not hold its holder's name yet.
      if (flock.status === LOCK_TAKEN) return { heldBy: readJsonFile(path, holderSchema) };
      const why = flock.error?.message ?? flock.stderr.toString().trim();
      throw new Error(`could not lock ${path} with flock(1) (util-linux): ${why}`);
    }
    const holder: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), what };
    ftruncateSync(fd, 0);
    writeSync(fd, `${JSON.stringify(holder)}\n`, 0);
    return new ExclusiveLock(fd);
  }
}

/** `worker q1 (pid 4242 on hostB, since 2026-12-01T10:00:00.000Z)`: the refused process's one line. */
export function describeHolder(holder: LockHolder | undefined, fallback: string): string {
  if (!holder) return fallback;
  return `${holder.what} (pid ${holder.pid} on ${holder.host}, since ${holder.since})`;
}
