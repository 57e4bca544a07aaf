import type { Command } from 'commander';
import { ExitError } from '../../errors.js';
import { finishedTrials } from '../../pool/finished-trials.js';
import type { TrialSummary } from '../../workflows/types.js';
import { sweepCommand } from '../sweep-command.js';
import { withClient } from '../with-client.js';

/** `t003_x=4: succeeded, returned {"score":8}` (as JSON: `null` for None) or `t004_x=5: failed: ValueError: x=5`. */
function finishedLine(row: TrialSummary): string {
  const outcome = row.state === 'succeeded' ? row.state : `${row.state}: ${row.cause ?? row.error ?? ''}`;
  const returned = 'value' in row ? `, returned ${JSON.stringify(row.value ?? null)}` : '';
  return `${row.name}: ${outcome}${row.state === 'succeeded' ? returned : ''}`;
}

export function registerWaitCommand(program: Command): void {
  sweepCommand(program, 'wait')
    .description(
      'print each trial as it finishes (once, whatever its attempts), until the sweep ends; exit 1 if any failed',
    )
    .option('--json', 'one JSON line per finished trial, as `sweep results --format json` writes it', false)
    .action(async (sweepId: string, options: { json: boolean }, command: Command) =>
      withClient(command, async (client) => {
        let finished = 0;
        let unsuccessful = 0;
        for await (const row of finishedTrials(client, sweepId)) {
          finished++;
          if (row.state !== 'succeeded') unsuccessful++;
          process.stdout.write(`${options.json ? JSON.stringify(row) : finishedLine(row)}\n`);
        }
        // Through the entry point, the only place that sets exit codes.
        if (unsuccessful > 0)
          throw new ExitError(`sweep ${sweepId}: ${unsuccessful} of ${finished} trial(s) did not succeed`);
      }),
    );
}
