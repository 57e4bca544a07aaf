import { setTimeout as delay } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { ExitError } from '../errors.js';
import type { SweepProgress } from '../workflows/types.js';
import { formatResults, sortRows } from './results-format.js';
import { sweepMemo, sweepProgressOrCounts, sweepResult, trialRows } from './sweep-client.js';

function progressLine(progress: SweepProgress): string {
  const { total, succeeded, failed, cancelled } = progress.counts;
  const done = succeeded + failed + cancelled;
  const best = progress.best ? `, best ${progress.best.value} (trial ${progress.best.index})` : '';
  return (
    `${progress.sweepId}: ${done}/${total} done (${succeeded} succeeded, ${failed} failed, ${cancelled} cancelled), ` +
    `${progress.running.length} in flight${best}`
  );
}

/**
 * Follows a sweep to its end (the CLI may be killed and `sweep watch` reattaches at any time), then prints
 * the results table. Progress goes to stderr: on a terminal as one updating line, otherwise a line per change.
 */
export async function followSweep(client: Client, sweepId: string): Promise<void> {
  const tty = process.stderr.isTTY;
  let last = '';
  const memo = await sweepMemo(client, sweepId);
  const finished = sweepResult(client, sweepId);
  let done = false;
  void finished.then(
    () => (done = true),
    () => (done = true),
  );
  while (!done) {
    // No worker to answer the query (all stopped, or busy restarting): counts from visibility, and say so.
    const read = await sweepProgressOrCounts(client, sweepId, memo).catch(() => undefined);
    const line = read
      ? `${progressLine(read.progress)}${read.fromVisibility ? ' (no worker answering: counts of finished trials only)' : ''}`
      : '';
    if (line && line !== last) {
      process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
      last = line;
    }
    await Promise.race([delay(tty ? 500 : 1000), finished.catch(() => undefined)]);
  }
  if (tty && last) process.stderr.write('\n');
  const result = await finished;
  const ended = await sweepMemo(client, sweepId);
  const rows = sortRows(await trialRows(client, sweepId, ended), ended.spec);
  process.stdout.write(`${formatResults(rows, ended.spec, 'table')}\n`);
  const { total, succeeded, failed, cancelled } = result.counts;
  const summary = `sweep ${sweepId} ${result.state}: ${succeeded} of ${total} trials succeeded, ${failed} failed, ${cancelled} cancelled`;
  if (result.state !== 'completed') throw new ExitError(summary);
  process.stderr.write(`${summary}\n`);
}
