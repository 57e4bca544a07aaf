// `sweep status --by-owner`: who uses how many of the lab's GPUs now, and how many trials each has waiting.
import type { Client } from '@temporalio/client';
import { sweepProgressOrCounts, type SweepMemo } from './sweep-client.js';

/** One owner's running sweeps, added up. */
export interface OwnerUsage {
  /** `(none)` for sweeps started before sweeps had owners. */
  readonly owner: string;
  readonly sweeps: number;
  /** Trials whose command runs now. */
  readonly running: number;
  /** GPUs those trials hold (a CPU-only trial holds none). */
  readonly gpus: number;
  /** Trials not finished and not running: queued, held ready, or not yet started. */
  readonly queued: number;
  /** The priorities and weights of the owner's running sweeps, distinct, in order. */
  readonly priorities: readonly number[];
  readonly weights: readonly number[];
}

interface SweepUsage {
  readonly owner: string;
  readonly running: number;
  readonly gpus: number;
  readonly queued: number;
  readonly priority?: number;
  readonly weight?: number;
}

const NO_OWNER = '(none)';

async function usageOf(client: Client, sweepId: string, memo: SweepMemo): Promise<SweepUsage> {
  const running = (
    await client.workflow.count(
      `SweepId = "${sweepId}" AND WorkflowType = "trialWorkflow" AND ExecutionStatus = "Running" AND TrialState = "running"`,
    )
  ).count;
  const { counts } = (await sweepProgressOrCounts(client, sweepId, { ...memo, status: 'RUNNING' })).progress;
  const unfinished = counts.total - counts.succeeded - counts.failed - counts.cancelled;
  const share = memo.options.share;
  return {
    owner: share?.owner ?? NO_OWNER,
    running,
    gpus: running * (memo.spec.resources.gpus ?? 1),
    queued: Math.max(0, unfinished - running),
    ...(share ? { priority: share.priority, weight: share.weight } : {}),
  };
}

function distinct(values: readonly (number | undefined)[]): number[] {
  return [...new Set(values.filter((value): value is number => value !== undefined))].sort((a, b) => a - b);
}

/** Every running sweep's usage, by owner, the largest GPU user first. */
export async function ownerUsage(client: Client): Promise<OwnerUsage[]> {
  const sweeps: Promise<SweepUsage>[] = [];
  for await (const execution of client.workflow.list({
    query: 'WorkflowType = "sweepWorkflow" AND ExecutionStatus = "Running"',
  })) {
    const memo = execution.memo as SweepMemo | undefined;
    if (memo?.spec) sweeps.push(usageOf(client, execution.workflowId, memo));
  }
  const byOwner = new Map<string, SweepUsage[]>();
  for (const usage of await Promise.all(sweeps)) {
    byOwner.set(usage.owner, [...(byOwner.get(usage.owner) ?? []), usage]);
  }
  const sum = (usages: readonly SweepUsage[], key: 'running' | 'gpus' | 'queued') =>
    usages.reduce((total, usage) => total + usage[key], 0);
  return [...byOwner.entries()]
    .map(([owner, usages]) => ({
      owner,
      sweeps: usages.length,
      running: sum(usages, 'running'),
      gpus: sum(usages, 'gpus'),
      queued: sum(usages, 'queued'),
      priorities: distinct(usages.map((usage) => usage.priority)),
      weights: distinct(usages.map((usage) => usage.weight)),
    }))
    .sort((a, b) => b.gpus - a.gpus || b.running - a.running || a.owner.localeCompare(b.owner));
}
