// The trials of a sweep as they finish, each once, by index: what `sweep wait` prints and a Pool's `imap_unordered`
// yields. A trial has one summary however many attempts it took, so a rescheduled job can never be counted twice.
import { setTimeout as delay } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { trialCount } from '../sweep-spec/expand.js';
import { summaryOf, sweepMemo } from '../cli/sweep-client.js';
import type { TrialSummary } from '../workflows/types.js';

const POLL_EVERY_MS = 500;
/** Rounds after the sweep ended without a new trial (visibility lags a little) before the rest count as never run. */
const ROUNDS_AFTER_END = 6;

/** When the trial learnt its outcome (workflow time): its last attempt's end. */
function finishedAt(trial: TrialSummary): number {
  return trial.attempts.at(-1)?.endedAt ?? 0;
}

export async function* finishedTrials(
  client: Client,
  sweepId: string,
  pollMs = POLL_EVERY_MS,
): AsyncGenerator<TrialSummary> {
  const memo = await sweepMemo(client, sweepId);
  const total = memo.indices?.length ?? trialCount(memo.spec);
  const seen = new Set<number>();
  const query = `SweepId = "${sweepId}" AND WorkflowType = "trialWorkflow" AND ExecutionStatus != "Running"`;
  let roundsSinceEnd = 0;
  while (seen.size < total) {
    const running = (await client.workflow.getHandle(sweepId).describe()).status.name === 'RUNNING';
    const fresh: TrialSummary[] = [];
    for await (const execution of client.workflow.list({ query, pageSize: 1000 })) {
      const summary = summaryOf(execution);
      if (!summary || seen.has(summary.index)) continue;
      seen.add(summary.index);
      fresh.push(summary);
    }
    // Several may turn up in one round: they are yielded in the order they finished, not the list's.
    yield* fresh.sort((a, b) => finishedAt(a) - finishedAt(b));
    if (seen.size >= total) return;
    // A cancelled sweep leaves trials that never started: they will not finish.
    roundsSinceEnd = running || fresh.length > 0 ? 0 : roundsSinceEnd + 1;
    if (roundsSinceEnd > ROUNDS_AFTER_END) return;
    await delay(pollMs);
  }
}
