import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { Command } from 'commander';
import { addConnectionOptions } from '../connection-flags.js';
import { parseCount, parseUserName } from '../option-parsers.js';
import { ownerName } from '../identity.js';
import { sweepProgressOrCounts, sweepResult, type SweepMemo } from '../sweep-client.js';
import { sweepOwnerKey, sweepStateKey } from '../../temporal/search-attributes.js';
import type { SweepResult } from '../../workflows/sweep-workflow.js';
import { formatTable } from '../table.js';
import { withClient } from '../with-client.js';

/** One row of `sweep list`, as `--json` prints it. */
interface SweepListing {
  readonly sweepId: string;
  readonly state: string;
  readonly started: string;
  /** Trials finished (succeeded, failed or cancelled), of `trials`. */
  readonly done: number;
  readonly trials: number;
  readonly best?: { readonly metric: string; readonly value: number; readonly trial: number };
  readonly name: string;
  /** Absent for sweeps started before owners. */
  readonly owner?: string;
}

/** Counts and best so far: an ended sweep's result (only its close event is read), else its own progress. */
async function outcome(client: Client, sweepId: string, memo: SweepMemo & { status: string }) {
  const result: Pick<SweepResult, 'counts' | 'best'> | undefined =
    memo.status === 'RUNNING' ? undefined : await sweepResult(client, sweepId).catch(() => undefined);
  return result ?? (await sweepProgressOrCounts(client, sweepId, memo)).progress;
}

async function listing(client: Client, execution: WorkflowExecutionInfo): Promise<SweepListing> {
  const memo = execution.memo as SweepMemo | undefined;
  const sweepId = execution.workflowId;
  const known = memo ? await outcome(client, sweepId, { ...memo, status: execution.status.name }) : undefined;
  const { total, succeeded, failed, cancelled } = known?.counts ?? { total: 0, succeeded: 0, failed: 0, cancelled: 0 };
  const metric = memo?.spec.metric?.name;
  return {
    sweepId,
    state: execution.typedSearchAttributes.get(sweepStateKey) ?? execution.status.name.toLowerCase(),
    started: execution.startTime.toISOString().replace('T', ' ').slice(0, 19),
    done: succeeded + failed + cancelled,
    trials: total,
    ...(metric && known?.best ? { best: { metric, value: known.best.value, trial: known.best.index } } : {}),
    name: memo?.spec.name ?? '',
    ...(memo?.options.share ? { owner: memo.options.share.owner } : {}),
  };
}

interface ListOptions {
  limit: number;
  json: boolean;
  user?: string;
  allUsers: boolean;
}

/** One user's sweeps, and those started before sweeps had owners (nobody's, so everyone's). */
function ownerFilter(options: ListOptions): string {
  if (options.allUsers) return '';
  const owner = options.user ?? ownerName();
  return ` AND (${sweepOwnerKey.name} = "${owner}" OR ${sweepOwnerKey.name} IS NULL)`;
}

export function registerListCommand(program: Command): void {
  addConnectionOptions(program.command('list'))
    .option('--limit <n>', 'show at most this many sweeps', parseCount(1), 20)
    .option('--json', 'the sweeps as one JSON array', false)
    .option('--user <name>', "this user's sweeps (default: yours, $SWEEP_USER or $USER)", parseUserName)
    .option('--all-users', "everyone's sweeps", false)
    .description('your sweeps, newest first, with their state, progress and best value')
    .action(async (options: ListOptions, command: Command) =>
      withClient(command, async (client) => {
        const executions: WorkflowExecutionInfo[] = [];
        for await (const execution of client.workflow.list({
          query: `WorkflowType = "sweepWorkflow" AND ExecutionStatus != "ContinuedAsNew"${ownerFilter(options)}`,
          pageSize: options.limit,
        })) {
          executions.push(execution);
          if (executions.length >= options.limit) break;
        }
        // Visibility lists running sweeps first, then by the time they ended.
        executions.sort((a, b) => b.startTime.getTime() - a.startTime.getTime());
        const rows = await Promise.all(executions.map((execution) => listing(client, execution)));
        if (options.json) {
          process.stdout.write(`${JSON.stringify(rows)}\n`);
          return;
        }
        const cells = rows.map((row) => [
          row.sweepId,
          row.state,
          row.started,
          `${row.done}/${row.trials}`,
          row.best ? `${row.best.metric} ${row.best.value}` : '',
          row.owner ?? '',
          row.name,
        ]);
        const header = ['sweep', 'state', 'started (UTC)', 'done', 'best', 'owner', 'name'];
        process.stdout.write(`${formatTable(header, cells)}\n`);
      }),
    );
}
