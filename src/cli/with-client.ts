import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { connectClient } from '../temporal/connection-config.js';
import { connectionFromOptions } from './connection-flags.js';

/** Connects with the command's connection flags, runs `body`, and always closes the connection. */
export async function withClient<T>(command: Command, body: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectClient(connectionFromOptions(command.opts()));
  try {
    return await body(client);
  } finally {
    await client.connection.close();
  }
}
