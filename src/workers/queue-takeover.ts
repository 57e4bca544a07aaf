import { ActivityNotFoundError, type Client } from '@temporalio/client';
import { attemptFiles, readOutcome, reportOutcome } from '../activities/attempt-outcome.js';
import type { LeftAttempt } from '../activities/trial-registry.js';
import { heartbeatProgress } from '../temporal/heartbeat-progress.js';
import { attemptFailure, FAILURE_TYPES } from '../workflows/attempt-failures.js';
import type { TrialProgress } from '../workflows/types.js';

/** What became of one attempt a dead predecessor left, for the worker's start-up line. */
export type TakeoverReport = 'reported-outcome' | 'reported-lost' | 'already-closed';

/** The attempt's last heartbeat, from the trial's pending activity: what a next attempt resumes from. */
async function lastProgress(client: Client, trialId: string, runId: string): Promise<TrialProgress | undefined> {
  const description = await client.workflow.getHandle(trialId, runId).describe();
  const progress = heartbeatProgress(description.raw.pendingActivities?.[0]);
  return progress?.waiting ? undefined : progress;
}

/**
 * Reports, by task token, each attempt that a dead predecessor on this queue was running: the outcome it
 * recorded when its process finished (so a finished trial never runs again), or else that the attempt was lost,
 * so the trial moves on now instead of at its heartbeat timeout. An attempt the server has already closed
 * (timed out) is left to the trial's next attempt, which adopts the recorded outcome itself.
 */
export async function reportLeftAttempts(
  client: Client,
  left: readonly LeftAttempt[],
  successor: string,
): Promise<TakeoverReport[]> {
  return Promise.all(
    left.map(async ({ attempt }): Promise<TakeoverReport> => {
      const taskToken = Buffer.from(attempt.taskToken, 'base64');
      const files = attemptFiles(attempt.trialDir, attempt.sweepId, attempt.attempt);
      const outcome = readOutcome(files, attempt.runId, attempt.attempt, attempt.metric);
      try {
        if (outcome) {
          let result;
          try {
            result = reportOutcome(outcome, attempt.metric, { reportedBy: successor });
          } catch (failure) {
            await client.activity.fail(taskToken, failure);
            return 'reported-outcome';
          }
          await client.activity.complete(taskToken, result);
          return 'reported-outcome';
        }
        const progress = await lastProgress(client, attempt.trialId, attempt.runId).catch(() => undefined);
        await client.activity.fail(
          taskToken,
          attemptFailure.lost(
            FAILURE_TYPES.workerLost,
            `its worker died; ${successor} took over the queue and found the trial's process gone`,
            progress,
          ),
        );
        return 'reported-lost';
      } catch (error) {
        if (error instanceof ActivityNotFoundError) return 'already-closed';
        throw error;
      }
    }),
  );
}
