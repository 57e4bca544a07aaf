import { sweepChanges } from '../sweep-steering.js';
import { describeSettings } from '../../workflows/sweep-changes.js';
import { describeParameter } from './validate.js';
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { formatValue } from '../../sweep-spec/render.js';
import { addConnectionOptions } from '../connection-flags.js';
import { noWorkerAfterMs, noWorkerProblem } from '../pool-pollers.js';
import type { GpuIdle } from '../../report/gpu-idle.js';
import { liveTrial, sweepMemo, sweepProgressOrCounts, type LiveTrial } from '../sweep-client.js';
import { sweepTimeline } from '../sweep-timeline.js';
import { resolveSweepId } from '../sweep-id-prefix.js';
import { formatDuration, formatTable } from '../table.js';
import { withClient } from '../with-client.js';
import { ownerUsage } from '../owner-usage.js';
import { fitsNowhere, waitingLines } from '../waiting-trials.js';

async function latestRunningSweep(client: Client): Promise<string> {
  for await (const execution of client.workflow.list({
    query: 'WorkflowType = "sweepWorkflow" AND ExecutionStatus = "Running"',
    pageSize: 1,
  })) {
    return execution.workflowId;
  }
  throw new ConfigError(['no running sweep; give a sweep ID (sweep list shows them)']);
}

/** Heartbeats come every second: a running trial silent for longer than this is said to be. */
const STALE_HEARTBEAT_MS = 5000;

/** The heartbeat's age, or `no heartbeat for 12s` when a running trial has gone quiet (its worker may be gone). */
function heartbeatCell(trial: LiveTrial, now: number): string {
  if (!trial.heartbeatAt) return '';
  const age = now - trial.heartbeatAt.getTime();
  return trial.state === 'running' && age > STALE_HEARTBEAT_MS
    ? `no heartbeat for ${formatDuration(age)}`
    : formatDuration(age);
}

function liveRow(trial: LiveTrial, now: number): string[] {
  const metrics = Object.entries(trial.progress?.metrics ?? {})
    .map(([name, value]) => `${name}=${formatValue(value)}`)
    .join(' ');
  return [
    String(trial.index),
    trial.name,
    trial.state,
    trial.attempt === undefined ? '' : String(trial.attempt),
    trial.worker ?? '',
    trial.startedAt ? formatDuration(now - trial.startedAt.getTime()) : '',
    heartbeatCell(trial, now),
    trial.progress?.step === undefined ? '' : String(trial.progress.step),
    metrics || (trial.waitingFor ? `waiting: ${trial.waitingFor}` : ''),
  ];
}

/** `GPU idle: 2.3s of 2 workers × 1m12s (1.6%); hostb-gpu1 1.9s, hostb-gpu0 0.4s`. */
function describeGpuIdle(gpu: GpuIdle): string {
  const share = `${(gpu.idleShare * 100).toFixed(1)}%`;
  const perWorker = gpu.workers.map((worker) => `${worker.worker} ${formatDuration(worker.idleMs)}`).join(', ');
  return (
    `GPU idle (no trial on a worker while trials waited): ${formatDuration(gpu.idleMs)} of ` +
    `${gpu.workers.length} worker(s) × ${formatDuration(gpu.wallMs)} (${share}); ${perWorker}`
  );
}

/** The latest changes `status` lists (`--json` has them all). */
const SHOWN_CHANGES = 10;

export async function showStatus(client: Client, sweepId: string | undefined, json: boolean): Promise<void> {
  const id = sweepId ? await resolveSweepId(client, sweepId) : await latestRunningSweep(client);
  const memo = await sweepMemo(client, id);
  const { progress, fromVisibility } = await sweepProgressOrCounts(client, id, memo);
  const live = await Promise.all(progress.running.map((index) => liveTrial(client, id, index, memo.spec)));
  const { total, succeeded, failed, cancelled } = progress.counts;
  const running = live.filter((trial) => trial.state === 'running').length;
  const unfinished = total - succeeded - failed - cancelled;
  const noWorker =
    memo.status === 'RUNNING'
      ? await noWorkerProblem(
          client,
          memo.options.pool,
          {
            startedAt: progress.startedAt,
            inFlight: fromVisibility ? unfinished : live.length,
            running: () => Promise.resolve(running),
          },
          noWorkerAfterMs(),
        )
      : undefined;
  const nowhere =
    memo.status === 'RUNNING' && unfinished > 0 ? await fitsNowhere(client, memo.spec, memo.options) : undefined;
  const queued = unfinished - running;
  const waiting = waitingLines(live);
  const gpu = (await sweepTimeline(client, id, memo, progress.startedAt, live)).idle;
  const changes = progress.changeCount ? (await sweepChanges(client, id)).changes : [];
  if (json) {
    // What the text shows; without a worker to ask, how many trials run and how many wait is unknown.
    const counts = fromVisibility ? progress.counts : { ...progress.counts, running, waiting: queued };
    const metric = memo.spec.metric;
    const gpuIdle = { wallMs: gpu.wallMs, idleMs: gpu.idleMs, idleShare: gpu.idleShare, workers: gpu.workers };
    const view = {
      ...progress,
      counts,
      metric,
      trials: live,
      waiting,
      gpuIdle,
      fromVisibility,
      noWorker,
      nowhere,
      changes,
    };
    process.stdout.write(`${JSON.stringify(view)}\n`);
    return;
  }
  const lines = [
    `sweep ${id}: ${progress.state}`,
    fromVisibility
      ? `  ${total} trials: ${succeeded} succeeded, ${failed} failed, ${cancelled} cancelled, ${unfinished} not finished`
      : `  ${total} trials: ${succeeded} succeeded, ${failed} failed, ${cancelled} cancelled, ${running} running, ${queued} waiting`,
  ];
  if (fromVisibility) {
    lines.push('  (no worker answered for the sweep: counts from visibility; is any `sweep worker` running?)');
  }
  if (noWorker) {
    lines.push(`  ${noWorker}: its trials wait for one (is a \`sweep worker --pool ${memo.options.pool}\` running?)`);
  }
  if (nowhere) lines.push(`  no live worker can run its trials: every trial ${nowhere}`);
  for (const line of waiting) lines.push(`  waiting: ${line}`);
  const grownBy = (memo.spec.blocks?.length ?? 1) - 1;
  if (grownBy > 0) {
    const now = memo.spec.parameters.map(describeParameter).join(', ');
    lines.push(`  trials added ${grownBy} time(s) (edit, rerun); parameters now: ${now}`);
  }
  const share = memo.options.share;
  if (share) lines.push(`  owner ${share.owner} · priority ${share.priority} · weight ${share.weight}`);
  if (progress.best)
    lines.push(`  best ${memo.spec.metric?.name}: ${progress.best.value} (trial ${progress.best.index})`);
  if (gpu.workers.length > 0) lines.push(`  ${describeGpuIdle(gpu)}`);
  if (progress.settings && changes.length > 0) {
    const held = progress.held?.length ? `; ${progress.held.length} trial(s) held, no process started` : '';
    lines.push(`  settings: ${describeSettings(progress.settings)} (${changes.length} change(s); latest last${held})`);
    for (const change of changes.slice(-SHOWN_CHANGES)) {
      lines.push(`    ${new Date(change.at).toISOString()}  ${change.result} · by ${change.by}`);
    }
  }
  if (progress.updateVersion > 0) {
    const acknowledged = live.filter((trial) => trial.progress?.updateVersion === progress.updateVersion).length;
    lines.push(
      `  cache updates: version ${progress.updateVersion}, acknowledged by ${acknowledged} of ${running} running trial(s)`,
    );
  }
  if (live.length > 0) {
    const header = ['trial', 'name', 'state', 'attempt', 'worker', 'runtime', 'heartbeat', 'step', 'metrics'];
    lines.push(
      '',
      formatTable(
        header,
        live.map((trial) => liveRow(trial, Date.now())),
      ),
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function showOwnerUsage(client: Client, sweepId: string | undefined, json: boolean): Promise<void> {
  if (sweepId) throw new ConfigError(['status --by-owner: covers every running sweep; give no sweep ID']);
  const owners = await ownerUsage(client);
  if (json) {
    process.stdout.write(`${JSON.stringify(owners)}\n`);
    return;
  }
  if (owners.length === 0) {
    process.stdout.write('no running sweep\n');
    return;
  }
  const rows = owners.map((usage) => [
    usage.owner,
    String(usage.sweeps),
    String(usage.running),
    String(usage.gpus),
    String(usage.queued),
    usage.priorities.join(','),
    usage.weights.join(','),
  ]);
  const header = ['owner', 'sweeps', 'running', 'GPUs', 'queued', 'priority', 'weight'];
  process.stdout.write(`${formatTable(header, rows)}\n`);
}

export function registerStatusCommand(program: Command): void {
  addConnectionOptions(program.command('status'))
    .argument('[sweep]', 'sweep ID or a unique prefix of it (default: the newest running sweep)')
    .option('--json', 'print the progress and the trials in flight as JSON', false)
    .option('--by-owner', "every running sweep's GPUs and queued trials, by owner", false)
    .description('counts per state, and for each trial in flight: attempt, worker, runtime, heartbeat age, metrics')
    .action(async (sweepId: string | undefined, options: { json: boolean; byOwner: boolean }, command: Command) =>
      withClient(command, (client) =>
        options.byOwner ? showOwnerUsage(client, sweepId, options.json) : showStatus(client, sweepId, options.json),
      ),
    );
}
