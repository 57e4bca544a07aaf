import type { Command } from 'commander';
import { sweepMemo, sweepResult } from '../sweep-client.js';
import { sweepCommand } from '../sweep-command.js';
import { withClient } from '../with-client.js';

export function registerCancelCommand(program: Command): void {
  sweepCommand(program, 'cancel')
    .description('cancel a sweep: running trials get SIGTERM (then SIGKILL), queued ones never start')
    .action(async (sweepId: string, _options: unknown, command: Command) =>
      withClient(command, async (client) => {
        const memo = await sweepMemo(client, sweepId);
        if (memo.status !== 'RUNNING') {
          process.stderr.write(`sweep ${sweepId} has already ended (${memo.status.toLowerCase()})\n`);
          return;
        }
        await client.workflow.getHandle(sweepId).cancel();
        const result = await sweepResult(client, sweepId);
        const { succeeded, failed, cancelled, total } = result.counts;
        process.stderr.write(
          `sweep ${sweepId} ${result.state}: ${succeeded} succeeded, ${failed} failed, ${cancelled} cancelled of ${total}\n`,
        );
      }),
    );
}
