import { InvalidArgumentError, type Command } from 'commander';
import { formatResults, sortRows, type ResultsFormat } from '../results-format.js';
import { sweepMemo, trialRows } from '../sweep-client.js';
import { sweepCommand } from '../sweep-command.js';
import { withClient } from '../with-client.js';

function parseFormat(value: string): ResultsFormat {
  if (value !== 'table' && value !== 'csv' && value !== 'json')
    throw new InvalidArgumentError('expected table, csv or json.');
  return value;
}

export function registerResultsCommand(program: Command): void {
  sweepCommand(program, 'results')
    .option('--format <format>', 'table, csv or json (JSON Lines)', parseFormat, 'table')
    .option('--sort <metric>', 'sort by this metric, ascending (default: the sweep metric, best first)')
    .description('one row per trial: parameters, state, exit code, metrics, runtime, attempts')
    .action(async (sweepId: string, options: { format: ResultsFormat; sort?: string }, command: Command) =>
      withClient(command, async (client) => {
        const memo = await sweepMemo(client, sweepId);
        const rows = sortRows(await trialRows(client, sweepId, memo), memo.spec, options.sort);
        process.stdout.write(`${formatResults(rows, memo.spec, options.format)}\n`);
      }),
    );
}
