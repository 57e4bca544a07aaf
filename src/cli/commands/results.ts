import { InvalidArgumentError, Option, type Command } from 'commander';
import { formatResults, sortOrder, sortRows, type ResultsFormat } from '../results-format.js';
import { attemptSpans, gpuIdle, idleBefore } from '../../report/gpu-idle.js';
import { sweepMemo, trialRows, type TrialRow } from '../sweep-client.js';
import { sweepCommand } from '../sweep-command.js';
import { withClient } from '../with-client.js';

function parseFormat(value: string): ResultsFormat {
  if (value !== 'table' && value !== 'csv' && value !== 'json')
    throw new InvalidArgumentError('expected table, csv or json.');
  return value;
}

/**
 * Each finished trial with the idle time its worker had just before it (see gpu-idle.ts): the gaps between the
 * trials that are the sweep's GPU idle time, summed per row.
 */
function withIdleBefore(rows: readonly TrialRow[]): TrialRow[] {
  const spans = attemptSpans(rows, Date.now());
  if (spans.length === 0) return [...rows];
  const sweep = {
    start: Math.min(...spans.map((span) => span.start)),
    end: Math.max(...spans.map((span) => span.end)),
  };
  const before = idleBefore(gpuIdle(rows, sweep), rows);
  return rows.map((row) => (before.has(row.index) ? { ...row, idleBeforeMs: before.get(row.index) } : row));
}

export function registerResultsCommand(program: Command): void {
  sweepCommand(program, 'results')
    .option('--format <format>', 'table, csv or json (JSON Lines)', parseFormat, 'table')
    .option(
      '--sort <column>',
      'sort on a column: "best" (the sweep metric\'s best value) or a metric (its last value); default best, or the trial index when the sweep has no metric',
    )
    .addOption(new Option('--asc', 'ascending (the default, except best first for a metric to maximize)'))
    .addOption(new Option('--desc', 'descending').conflicts('asc'))
    .description('one row per trial: parameters, state, exit code, metrics (last and best), runtime, attempts, cause')
    .action(
      async (
        sweepId: string,
        options: { format: ResultsFormat; sort?: string; asc?: boolean; desc?: boolean },
        command: Command,
      ) =>
        withClient(command, async (client) => {
          const memo = await sweepMemo(client, sweepId);
          const rows = withIdleBefore(await trialRows(client, sweepId, memo));
          const direction = options.desc ? 'desc' : options.asc ? 'asc' : undefined;
          const order = sortOrder(rows, memo.spec, { sort: options.sort, direction });
          process.stdout.write(`${formatResults(sortRows(rows, order), memo.spec, options.format)}\n`);
        }),
    );
}
