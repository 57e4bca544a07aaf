import type { Command } from 'commander';
import { addConnectionOptions } from '../connection-flags.js';
import { parseCount } from '../option-parsers.js';
import type { SweepMemo } from '../sweep-client.js';
import { sweepStateKey } from '../../temporal/search-attributes.js';
import { trialCount } from '../../sweep-spec/expand.js';
import { formatTable } from '../table.js';
import { withClient } from '../with-client.js';

export function registerListCommand(program: Command): void {
  addConnectionOptions(program.command('list'))
    .option('--limit <n>', 'show at most this many sweeps', parseCount(1), 20)
    .option('--json', 'one JSON object per sweep', false)
    .description('sweeps, newest first, with their state and size')
    .action(async (options: { limit: number; json: boolean }, command: Command) =>
      withClient(command, async (client) => {
        const rows: { sweepId: string; state: string; started: string; trials: number; name: string }[] = [];
        for await (const execution of client.workflow.list({
          query: 'WorkflowType = "sweepWorkflow" AND ExecutionStatus != "ContinuedAsNew"',
          pageSize: options.limit,
        })) {
          const memo = execution.memo as SweepMemo | undefined;
          rows.push({
            sweepId: execution.workflowId,
            state: execution.typedSearchAttributes.get(sweepStateKey) ?? execution.status.name.toLowerCase(),
            started: execution.startTime.toISOString().replace('T', ' ').slice(0, 19),
            trials: memo?.indices?.length ?? (memo ? trialCount(memo.spec) : 0),
            name: memo?.spec.name ?? '',
          });
          if (rows.length >= options.limit) break;
        }
        if (options.json) {
          process.stdout.write(rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
          return;
        }
        const cells = rows.map((row) => [row.sweepId, row.state, row.started, String(row.trials), row.name]);
        process.stdout.write(`${formatTable(['sweep', 'state', 'started (UTC)', 'trials', 'name'], cells)}\n`);
      }),
    );
}
