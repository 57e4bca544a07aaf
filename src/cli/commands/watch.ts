import type { Command } from 'commander';
import { addConnectionOptions } from '../connection-flags.js';
import { followSweep } from '../follow.js';
import { checkSweepId, sweepMemo } from '../sweep-client.js';
import { withClient } from '../with-client.js';

export function registerWatchCommand(program: Command): void {
  addConnectionOptions(program.command('watch'))
    .argument('<sweep>', 'sweep ID')
    .description('follow a sweep (started earlier, from any machine) to its end, then print its results')
    .action(async (sweepId: string, _options: unknown, command: Command) =>
      withClient(command, async (client) => {
        await sweepMemo(client, checkSweepId(sweepId));
        await followSweep(client, sweepId);
      }),
    );
}
