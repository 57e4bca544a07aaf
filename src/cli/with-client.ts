import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { ExitError } from '../errors.js';
import { connectRetrying } from '../temporal/connect-retrying.js';
import { connectClient } from '../temporal/connection-config.js';
import { environmentProblem } from '../temporal/connection-errors.js';
import { connectionFromOptions } from './connection-flags.js';

export interface WithClientOptions {
  /** Wait for a server that is down or restarting (long-running commands); otherwise fail with one line. */
  readonly waitForServer?: boolean;
}

/**
 * Connects with the command's connection flags, runs `body`, and always closes the connection. A server that
 * stops answering halfway is one line too, never a stack trace.
 */
export async function withClient<T>(
  command: Command,
  body: (client: Client) => Promise<T>,
  options: WithClientOptions = {},
): Promise<T> {
  const config = connectionFromOptions(command.opts());
  const client = options.waitForServer
    ? await connectRetrying(config, () => connectClient(config))
    : await connectClient(config);
  try {
    return await body(client);
  } catch (error) {
    const problem = environmentProblem(error, config.address);
    throw problem ? new ExitError(problem) : error;
  } finally {
    await client.connection.close();
  }
}
