import { setMaxListeners } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import type { Client, Connection } from '@temporalio/client';
import { ExitError } from '../errors.js';
import { OutageReporter, RETRY_EVERY_MS } from '../temporal/connect-retrying.js';
import { isNoAnswer, transportReason } from '../temporal/connection-errors.js';
import type { SweepResult } from '../workflows/sweep-workflow.js';
import type { SweepProgress } from '../workflows/types.js';
import { LiveFeed } from './live-feed.js';
import { LiveScreen } from './live-screen.js';
import { formatResults, sortOrder, sortRows } from './results-format.js';
import { noWorkerAfterMs, noWorkerProblem } from './pool-pollers.js';
import { liveTrials, sweepMemo, sweepProgressOrCounts, sweepResult, trialRows } from './sweep-client.js';
import { fitsNowhere, waitingLines } from './waiting-trials.js';
import { resourceRequest } from '../workflows/resource-request.js';

function progressLine(progress: SweepProgress): string {
  const { total, succeeded, failed, cancelled } = progress.counts;
  const done = succeeded + failed + cancelled;
  const best = progress.best ? `, best ${progress.best.value} (trial ${progress.best.index})` : '';
  return (
    `${progress.sweepId}: ${done}/${total} done (${succeeded} succeeded, ${failed} failed, ${cancelled} cancelled), ` +
    `${progress.running.length} in flight${best}`
  );
}

/** The address the client talks to, for the outage lines. */
function clientAddress(client: Client): string {
  return (client.connection as Partial<Connection>).options?.address ?? 'the configured address';
}

/** `every trial needs 4 GPUs on one host; …`, or the first reason trials wait for; undefined when none waits. */
async function placementLine(
  client: Client,
  sweepId: string,
  memo: Awaited<ReturnType<typeof sweepMemo>>,
  inFlight: readonly number[],
): Promise<string | undefined> {
  if (inFlight.length === 0) return undefined;
  const nowhere = await fitsNowhere(client, memo.spec, memo.options);
  if (nowhere) return `no live worker can run its trials: every trial ${nowhere}`;
  const [first, ...more] = waitingLines(await liveTrials(client, sweepId, inFlight, memo.spec));
  return first ? `waiting: ${first}${more.length ? ` (and ${more.length} more reason(s))` : ''}` : undefined;
}

/** How long the liveness check of each round may take before the server counts as not answering. */
const PING_DEADLINE_MS = 5000;
/** How often a follower asks whether the sweep's pool has a worker (DescribeTaskQueue, plus describes if silent). */
const POOL_CHECK_EVERY_MS = 5000;

/**
 * Runs `follow` until it returns or Ctrl-C, which aborts its calls at once: the sweep is durable and runs on
 * without the CLI, so Ctrl-C only stops following it, and says so (exit 130).
 */
async function untilCtrlC<T>(client: Client, sweepId: string, follow: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const detach = new AbortController();
  // Every call in flight listens on it, and the live view describes each trial in flight at once.
  setMaxListeners(Infinity, detach.signal);
  const onInterrupt = () => detach.abort();
  process.once('SIGINT', onInterrupt);
  try {
    return await client.withAbortSignal(detach.signal, () => follow(detach.signal));
  } catch (error) {
    if (!detach.signal.aborted) throw error;
    // Off the line the terminal echoed ^C on (and the progress line, if one was drawn).
    if (process.stderr.isTTY) process.stderr.write('\n');
    throw new ExitError(
      `detached; sweep ${sweepId} keeps running. Follow it with: sweep watch ${sweepId}; stop it with: sweep cancel ${sweepId}`,
      130,
    );
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

export interface FollowOptions {
  /** false (`--no-tty`): the plain line per change, and the whole results table, even on a terminal. */
  readonly tty?: boolean;
}

/**
 * Follows a sweep to its end (the CLI may be killed or detached with Ctrl-C, and `sweep watch` reattaches at any
 * time), then prints the results table. A server that stops answering is waited for, with one line when it stops
 * and one when it answers again.
 */
export async function followSweep(client: Client, sweepId: string, options: FollowOptions = {}): Promise<void> {
  const live = process.stderr.isTTY && options.tty !== false;
  const result = await untilCtrlC(client, sweepId, (signal) => progressUntilEnd(client, sweepId, signal, live));
  const outage = new OutageReporter(clientAddress(client));
  const ended = await outage.retry(() => sweepMemo(client, sweepId));
  const rows = await outage.retry(() => trialRows(client, sweepId, ended));
  const sorted = sortRows(rows, sortOrder(rows, ended.spec));
  // On a terminal the table fits its width; in a log or a pipe (or with --no-tty) it stays whole.
  const width = process.stdout.isTTY && options.tty !== false ? process.stdout.columns || 80 : undefined;
  process.stdout.write(`${formatResults(sorted, ended.spec, 'table', width)}\n`);
  const { total, succeeded, failed, cancelled } = result.counts;
  const summary = `sweep ${sweepId} ${result.state}: ${succeeded} of ${total} trials succeeded, ${failed} failed, ${cancelled} cancelled`;
  if (result.state !== 'completed') throw new ExitError(summary);
  process.stderr.write(`${summary}\n`);
}

/** Progress on stderr until the sweep ends: on a terminal as the live view, otherwise a line per change. */
async function progressUntilEnd(
  client: Client,
  sweepId: string,
  signal: AbortSignal,
  tty: boolean,
): Promise<SweepResult> {
  const screen = tty ? new LiveScreen(process.stderr) : undefined;
  try {
    return await progressOn(client, sweepId, signal, screen);
  } finally {
    screen?.done();
  }
}

async function progressOn(
  client: Client,
  sweepId: string,
  signal: AbortSignal,
  screen: LiveScreen | undefined,
): Promise<SweepResult> {
  let last = '';
  const outage = new OutageReporter(clientAddress(client), RETRY_EVERY_MS, (line) => {
    if (screen) screen.persist(`sweep: ${line}`);
    else process.stderr.write(`sweep: ${line}\n`);
    // The progress line is written again after it.
    last = '';
  });
  const noWorkerAfter = noWorkerAfterMs();
  const memo = await outage.retry(() => sweepMemo(client, sweepId));
  const feed = screen ? new LiveFeed(client, sweepId, memo) : undefined;
  // A long poll; when the client's own retries give up during an outage, it is asked again.
  const finished = outage.retry(() => sweepResult(client, sweepId));
  let done = false;
  void finished.then(
    () => (done = true),
    () => (done = true),
  );
  let noWorker: string | undefined;
  /** What trials that do not fit wait for (only sweeps that ask for particular hardware can). */
  let placement: string | undefined;
  const asksResources = memo.options.honourResources === true && resourceRequest(memo.spec.resources) !== undefined;
  let poolCheckedAt = 0;
  while (!done) {
    const answering = await client.connection
      .withDeadline(Date.now() + PING_DEADLINE_MS, () => client.workflowService.getSystemInfo({}))
      .then(
        () => true,
        (error: unknown) => {
          if (!isNoAnswer(error)) return true;
          outage.down(transportReason(error));
          return false;
        },
      );
    if (answering) {
      outage.up();
      // No worker to answer the query (all stopped, or busy restarting): counts from visibility, and say so.
      const read = await sweepProgressOrCounts(client, sweepId, memo).catch(() => undefined);
      if (read && Date.now() - poolCheckedAt >= POOL_CHECK_EVERY_MS) {
        poolCheckedAt = Date.now();
        const { progress } = read;
        noWorker = await noWorkerProblem(
          client,
          memo.options.pool,
          {
            startedAt: progress.startedAt,
            inFlight: read.fromVisibility ? 1 : progress.running.length,
            running: async () =>
              (await liveTrials(client, sweepId, progress.running, memo.spec)).filter(
                (trial) => trial.state === 'running',
              ).length,
          },
          noWorkerAfter,
        ).catch(() => noWorker);
        if (asksResources)
          placement = await placementLine(client, sweepId, memo, progress.running).catch(() => placement);
      }
      const visibilityOnly = read?.fromVisibility ? 'no worker answering: counts of finished trials only' : undefined;
      if (read && screen && feed) {
        const notes = [visibilityOnly, noWorker, placement].filter((note) => note !== undefined);
        screen.show(await feed.frame(read.progress, notes));
      }
      const line = read
        ? `${progressLine(read.progress)}${visibilityOnly ? ` (${visibilityOnly})` : ''}` +
          (noWorker ? `; ${noWorker}` : '') +
          (placement ? `; ${placement}` : '')
        : '';
      if (!screen && line && line !== last) {
        process.stderr.write(`${line}\n`);
        last = line;
      }
    }
    const pause = delay(answering ? (screen ? 500 : 1000) : RETRY_EVERY_MS, undefined, { signal });
    await Promise.race([pause, finished.catch(() => undefined)]);
  }
  const result = await finished;
  if (screen && feed) screen.show(await feed.final(result));
  return result;
}
