import { setTimeout as delay } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { Command } from 'commander';
import { ExitError } from '../../errors.js';
import { parseCount } from '../option-parsers.js';
import type { SweepResult } from '../../workflows/sweep-workflow.js';
import { sweepMemo, sweepResult } from '../sweep-client.js';
import { sweepCommand } from '../sweep-command.js';
import { withClient } from '../with-client.js';

/**
 * A workflow task that no worker has taken for this long means no worker serves the control queue: a live one
 * has a poll open and takes a task within milliseconds (after a worker died, its sticky task moves in 1 s).
 */
const NO_WORKFLOW_WORKER_MS = 5000;

/** How long the sweep's workflow task has waited for a worker, or 0 when none waits (or one has started it). */
async function workflowTaskWaitingMs(client: Client, sweepId: string): Promise<number> {
  const task = (await client.workflow.getHandle(sweepId).describe()).raw.pendingWorkflowTask;
  if (task?.state !== proto.temporal.api.enums.v1.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED) {
    return 0;
  }
  const time = task.originalScheduledTime ?? task.scheduledTime;
  return time?.seconds ? Date.now() - Number(time.seconds) * 1000 - Math.floor((time.nanos ?? 0) / 1e6) : 0;
}

export async function cancelSweep(client: Client, sweepId: string, timeoutSeconds: number): Promise<void> {
  const memo = await sweepMemo(client, sweepId);
  if (memo.status !== 'RUNNING') {
    process.stderr.write(`sweep ${sweepId} has already ended (${memo.status.toLowerCase()})\n`);
    return;
  }
  await client.workflow.getHandle(sweepId).cancel();
  const recorded = `the cancellation of sweep ${sweepId} is recorded`;
  if (timeoutSeconds === 0) {
    process.stderr.write(`${recorded}; it takes effect when a worker runs the sweep\n`);
    return;
  }
  process.stderr.write(`${recorded}; waiting up to ${timeoutSeconds} s for its trials to stop…\n`);
  // Aborted when the wait ends without a result: a pending long poll would keep the process alive.
  const abort = new AbortController();
  const finished = client.withAbortSignal(abort.signal, () => sweepResult(client, sweepId));
  finished.catch(() => {});
  try {
    await waitForEnd(client, sweepId, finished, timeoutSeconds, recorded, memo.options.controlQueue);
  } finally {
    abort.abort();
  }
}

async function waitForEnd(
  client: Client,
  sweepId: string,
  finished: Promise<SweepResult>,
  timeoutSeconds: number,
  recorded: string,
  controlQueue: string,
): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    const result = await Promise.race([finished, delay(1000).then(() => undefined)]);
    if (result) {
      const { succeeded, failed, cancelled, total } = result.counts;
      process.stderr.write(
        `sweep ${sweepId} ${result.state}: ${succeeded} succeeded, ${failed} failed, ${cancelled} cancelled of ${total}\n`,
      );
      return;
    }
    if ((await workflowTaskWaitingMs(client, sweepId)) >= NO_WORKFLOW_WORKER_MS) {
      throw new ExitError(
        `${recorded}, but no worker has taken the sweep's tasks for ${NO_WORKFLOW_WORKER_MS / 1000} s ` +
          `(control queue "${controlQueue}"); it takes effect when a worker runs the sweep`,
      );
    }
  }
  throw new ExitError(
    `${recorded}, but the sweep has not ended within ${timeoutSeconds} s; it ends once its trials have stopped ` +
      `(sweep status ${sweepId} shows them)`,
  );
}

export function registerCancelCommand(program: Command): void {
  sweepCommand(program, 'cancel')
    .description('cancel a sweep: running trials get SIGTERM (then SIGKILL), queued ones never start')
    .option(
      '--timeout <seconds>',
      'wait this long for the sweep to end (0: only record the cancellation)',
      parseCount(0),
      60,
    )
    .action(async (sweepId: string, options: { timeout: number }, command: Command) =>
      withClient(command, (client) => cancelSweep(client, sweepId, options.timeout)),
    );
}
