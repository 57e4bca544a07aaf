import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { connectionFromOptions } from '../connection-flags.js';
import { followSweep } from '../follow.js';
import { startSweep, sweepMemo, trialRows } from '../sweep-client.js';
import { webUiLink } from '../web-ui.js';
import { sweepCommand } from '../sweep-command.js';
import { withClient } from '../with-client.js';

interface RetryOptions {
  failed: boolean;
  cancelled: boolean;
  wait: boolean;
}

/**
 * Runs a finished sweep's failed (and, if asked, cancelled) trials again, as a new sweep linked to the old one:
 * the old sweep's history stays as it happened, succeeded trials never run again, and the retried trials
 * continue in their old trial directories, so they resume from their checkpoints.
 */
export function registerRetryCommand(program: Command): void {
  sweepCommand(program, 'retry', 'a finished sweep')
    .option('--failed', 'retry the failed trials', false)
    .option('--cancelled', 'retry the cancelled trials', false)
    .option('--wait', 'follow the new sweep to its end', false)
    .description('run the failed (or cancelled) trials of a finished sweep again, as a new linked sweep')
    .action(async (sweepId: string, options: RetryOptions, command: Command) =>
      withClient(command, async (client) => {
        if (!options.failed && !options.cancelled)
          throw new ConfigError(['retry: say which trials: --failed and/or --cancelled']);
        const memo = await sweepMemo(client, sweepId);
        if (memo.status === 'RUNNING') {
          throw new ConfigError([`${sweepId} is still running: retry it once it has ended (or cancel it first)`]);
        }
        const states = new Set([...(options.failed ? ['failed'] : []), ...(options.cancelled ? ['cancelled'] : [])]);
        const indices = (await trialRows(client, sweepId, memo))
          .filter((row) => states.has(row.state))
          .map((row) => row.index);
        if (indices.length === 0) {
          process.stderr.write(`${sweepId}: no ${[...states].join(' or ')} trials to retry\n`);
          return;
        }
        const origin = memo.options.origin ?? sweepId;
        const retryId = await startSweep(client, memo.spec, { ...memo.options, origin }, { indices, retryOf: sweepId });
        process.stdout.write(`${retryId}\n`);
        const link = webUiLink(connectionFromOptions(command.opts()), retryId);
        process.stderr.write(
          `Started sweep ${retryId}: retrying ${indices.length} trial(s) of ${sweepId} (${indices.join(', ')}).\n` +
            (link ? `  Web UI: ${link}\n` : ''),
        );
        if (options.wait) await followSweep(client, retryId);
      }),
    );
}
