import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
import { liveTrialOf, type LiveTrial, type TrialDescription } from '../../../src/cli/sweep-client.js';
import type { TrialProgress } from '../../../src/workflows/types.js';

const { PendingActivityState } = proto.temporal.api.enums.v1;
type Pending = proto.temporal.api.workflow.v1.IPendingActivityInfo;

const STARTED_AT = new Date(1_700_000_000_000);
const HEARTBEAT_AT = new Date(1_700_000_001_500);
const time = (date: Date) =>
  proto.google.protobuf.Timestamp.fromObject({
    seconds: Math.floor(date.getTime() / 1000),
    nanos: (date.getTime() % 1000) * 1e6,
  });

/** A trial's attempt, picked up by `hostb-gpu1` and heartbeating `progress` (none: not yet). */
const picked = (progress?: TrialProgress): Pending => ({
  state: PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
  lastWorkerIdentity: 'hostb-gpu1#4242',
  lastStartedTime: time(STARTED_AT),
  ...(progress
    ? {
        lastHeartbeatTime: time(HEARTBEAT_AT),
        heartbeatDetails: { payloads: [defaultPayloadConverter.toPayload(progress)] },
      }
    : {}),
});

const described = (pending: Pending | undefined, extra: Partial<TrialDescription> = {}): TrialDescription => ({
  historyLength: 6,
  memo: {},
  raw: { pendingActivities: pending ? [pending] : [] },
  ...extra,
});

const running = { step: 3, metrics: { loss: 0.25 }, worker: 'hostb-gpu1', attempt: 1 };
const cases: [string, TrialDescription | undefined, Omit<LiveTrial, 'index' | 'name'>][] = [
  ['not started by the sweep yet', undefined, { state: 'queued' }],
  ['started, its first attempt not scheduled yet', described(undefined, { historyLength: 3 }), { state: 'queued' }],
  ['no attempt pending after one ran: recording its outcome', described(undefined), { state: 'finishing' }],
  [
    'no attempt pending, paused after workers that could never hold it',
    described(undefined, { memo: { waitingFor: 'needs 4 GPUs' } }),
    { state: 'queued', waitingFor: 'needs 4 GPUs' },
  ],
  [
    'scheduled, no worker has it',
    described({ state: PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED }),
    { state: 'queued' },
  ],
  // Held ready behind a busy slot, or started a moment ago: no heartbeat says which, so not running yet.
  ['picked up by a worker, no heartbeat yet', described(picked()), { state: 'queued' }],
  [
    'held ready behind a busy slot, heartbeating that it waits',
    described(picked({ metrics: {}, worker: 'hostb-gpu1', attempt: 2, waiting: true, waitingFor: 'slot busy' })),
    { state: 'queued', attempt: 2, heartbeatAt: HEARTBEAT_AT, waitingFor: 'slot busy' },
  ],
  [
    'running: its heartbeat carries the step and the last metrics',
    described(picked(running)),
    {
      state: 'running',
      attempt: 1,
      worker: 'hostb-gpu1',
      startedAt: STARTED_AT,
      heartbeatAt: HEARTBEAT_AT,
      progress: running,
    },
  ],
];

for (const [what, description, expected] of cases) {
  test(`a trial in flight: ${what}`, () => {
    assert.deepEqual(liveTrialOf(4, 't004_x=5', description), { index: 4, name: 't004_x=5', ...expected });
  });
}
