import type { Command } from 'commander';
import { followSweep } from '../follow.js';
import { sweepCommand } from '../sweep-command.js';
import { withClient } from '../with-client.js';

export function registerWatchCommand(program: Command): void {
  // Long-running: a server that is down or restarts is waited for, with a line when it stops and resumes.
  const connect = { waitForServer: true };
  sweepCommand(program, 'watch', 'sweep ID', connect)
    .description('follow a sweep (started earlier, from any machine) to its end, then print its results')
    .option('--no-tty', 'plain progress lines, one per change, even on a terminal')
    .action(async (sweepId: string, options: { tty: boolean }, command: Command) =>
      withClient(command, (client) => followSweep(client, sweepId, options), connect),
    );
}
