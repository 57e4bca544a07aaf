import { defaultPayloadConverter } from '@temporalio/common';
import type proto from '@temporalio/proto';
import type { TrialProgress } from '../workflows/types.js';

/** The progress an attempt last heartbeated, from its trial's pending activity (DescribeWorkflowExecution). */
export function heartbeatProgress(
  pending: proto.temporal.api.workflow.v1.IPendingActivityInfo | undefined,
): TrialProgress | undefined {
  const payload = pending?.heartbeatDetails?.payloads?.[0];
  return payload ? defaultPayloadConverter.fromPayload<TrialProgress>(payload) : undefined;
}
