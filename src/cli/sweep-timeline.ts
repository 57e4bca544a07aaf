// A sweep's attempts on its workers, and its GPU idle time, as of now: what `sweep status` and `sweep report` show.
import type { Client } from '@temporalio/client';
import { attemptSpans, gpuIdle, type AttemptSpan, type GpuIdle, type RunningAttempt } from '../report/gpu-idle.js';
import { trialRows, type LiveTrial, type SweepMemo, type TrialRow } from './sweep-client.js';

export interface SweepTimeline {
  /** Every trial: finished ones from their memo, running ones from their heartbeats, the rest from the spec. */
  readonly rows: readonly TrialRow[];
  readonly spans: readonly AttemptSpan[];
  readonly idle: GpuIdle;
  /** The sweep's wall time: from its start to now, or to its last attempt's end once it is over. */
  readonly start: number;
  readonly end: number;
}

export async function sweepTimeline(
  client: Client,
  sweepId: string,
  memo: SweepMemo & { status: string },
  startedAt: number,
  live: readonly LiveTrial[],
): Promise<SweepTimeline> {
  const rows = await trialRows(client, sweepId, memo);
  const running: RunningAttempt[] = live.flatMap((trial) =>
    trial.state === 'running' && trial.worker && trial.startedAt
      ? [{ trial: trial.index, attempt: trial.attempt ?? 0, worker: trial.worker, start: trial.startedAt.getTime() }]
      : [],
  );
  const now = Date.now();
  const spans = attemptSpans(rows, now, running);
  const end = memo.status === 'RUNNING' ? now : Math.max(startedAt, ...spans.map((span) => span.end));
  return { rows, spans, idle: gpuIdle(rows, { start: startedAt, end }, running), start: startedAt, end };
}
