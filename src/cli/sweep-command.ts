import type { Command } from 'commander';
import { addConnectionOptions } from './connection-flags.js';
import { resolveSweepId } from './sweep-id-prefix.js';
import { withClient, type WithClientOptions } from './with-client.js';

/**
 * A command about one sweep, `<parent> <name> <sweep> …`, with the connection flags every such command takes.
 * The sweep may be given by a unique prefix of its ID: the action gets the full ID.
 */
export function sweepCommand(
  parent: Command,
  name: string,
  about = 'sweep ID',
  connect: WithClientOptions = {},
): Command {
  return addConnectionOptions(parent.command(name))
    .argument('<sweep>', `${about} (or a unique prefix of it)`)
    .hook('preAction', async (command) => {
      const [given] = command.processedArgs as [string];
      command.processedArgs[0] = await withClient(command, (client) => resolveSweepId(client, given), connect);
    });
}
