// One Update on a running sweep, as `sweep signal update` and the steering commands send it.
import { randomUUID } from 'node:crypto';
import { ServiceError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { ConfigError, ExitError } from '../errors.js';
import { sweepMemo } from './sweep-client.js';

export interface SweepUpdateOptions {
  /** The Update's ID (default: a new one); the same ID is resent if the first try missed the sweep's run. */
  readonly updateId?: string;
  /** What an ended sweep can no longer do: `its trials can no longer receive updates`. */
  readonly whenEnded: string;
  /** How a refusal starts: `update rejected`, `<sweep>: change refused`. */
  readonly refused: string;
  /** Called once the sweep has answered, accepted or refused (not when it could not be reached). */
  readonly answered?: () => void;
}

/**
 * Sends `update` to the running sweep `sweepId`. Refused by its validator, or sent to no such sweep: a
 * ConfigError saying why, and nothing changed. An Update sent while the sweep continues as new can miss the run
 * that closed (NotFound, or a ServiceError as the server drops it) without having been applied: it is resent
 * once, with the same ID (the change log answers a repeated change ID with its first record).
 */
export async function updateRunningSweep<Ret, Arg>(
  client: Client,
  sweepId: string,
  update: UpdateDefinition<Ret, [Arg]>,
  arg: Arg,
  options: SweepUpdateOptions,
): Promise<Ret> {
  const memo = await sweepMemo(client, sweepId);
  if (memo.status !== 'RUNNING') {
    throw new ExitError(`sweep ${sweepId} has ended (${memo.status.toLowerCase()}); ${options.whenEnded}`);
  }
  const updateId = options.updateId ?? randomUUID();
  const send = () => client.workflow.getHandle(sweepId).executeUpdate(update, { args: [arg], updateId });
  try {
    let result: Ret;
    try {
      result = await send();
    } catch (error) {
      // Missed the run (NotFound), or the server gave up on it as that run closed (a ServiceError: CI saw one
      // while the sweep continued as new): not applied, so the same ID goes to the sweep's current run.
      const missed = error instanceof WorkflowNotFoundError || error instanceof ServiceError;
      if (!missed || (await sweepMemo(client, sweepId)).status !== 'RUNNING') throw error;
      result = await send();
    }
    options.answered?.();
    return result;
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) {
      options.answered?.();
      throw new ConfigError([`${options.refused}: ${error.cause?.message ?? error.message}`]);
    }
    if (error instanceof WorkflowNotFoundError) {
      options.answered?.();
      throw new ConfigError([`${sweepId}: no such sweep`]);
    }
    throw error;
  }
}
