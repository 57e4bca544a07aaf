import type { Command } from 'commander';
import { followSweep } from '../follow.js';
import { sweepMemo } from '../sweep-client.js';
import { sweepCommand } from '../sweep-command.js';
import { withClient } from '../with-client.js';

export function registerWatchCommand(program: Command): void {
  sweepCommand(program, 'watch')
    .description('follow a sweep (started earlier, from any machine) to its end, then print its results')
    .action(async (sweepId: string, _options: unknown, command: Command) =>
      withClient(command, async (client) => {
        await sweepMemo(client, sweepId);
        await followSweep(client, sweepId);
      }),
    );
}
