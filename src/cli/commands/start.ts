import { resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { trialCount } from '../../sweep-spec/expand.js';
import { connectRetrying } from '../../temporal/connect-retrying.js';
import { connectClient } from '../../temporal/connection-config.js';
import { CONTROL_QUEUE } from '../../temporal/names.js';
import type { SweepOptions } from '../../workflows/types.js';
import { addConnectionOptions, connectionFromOptions } from '../connection-flags.js';
import { followSweep } from '../follow.js';
import { parseCount, parsePriority, parseUserName, parseWeight } from '../option-parsers.js';
import { addResourceOptions } from '../resource-flags.js';
import { addSpecArguments, readSpecFile, type SpecCommandOptions } from '../spec-file.js';
import { registeredWorkers, whyFitsNowhere, whyNoClassWorker } from '../pool-capacity.js';
import { withClassVersion } from '../../worker-class/class-version.js';
import type { SweepSpec } from '../../sweep-spec/spec-types.js';
import { askToExtend, extendSweep, runningTwin } from '../sweep-extend.js';
import { DEFAULT_SWEEP_OPTIONS, defaultShare, startSweep } from '../sweep-client.js';
import { ExitError } from '../../errors.js';
import { resourceRequest } from '../../workflows/resource-request.js';
import { webUiLink } from '../web-ui.js';

interface StartOptions extends SpecCommandOptions {
  wait: boolean;
  tty: boolean;
  heartbeatTimeout: number;
  window?: number;
  continueAsNewAfter: number;
  maxLost: number;
  controlQueue: string;
  broadcastResults: boolean;
  waitForCapacity: boolean;
  json: boolean;
  user?: string;
  extend: boolean;
  new: boolean;
}

/**
 * The spec's sweep runs already (the owner's, same name or same file): grows it by what the file adds, with
 * --extend or a yes on a terminal; else nothing starts. Returns the ID of the sweep it extended.
 */
async function extendRunning(
  client: Client,
  spec: SweepSpec,
  file: string,
  owner: string,
  options: StartOptions,
): Promise<string | undefined> {
  const twin = options.new ? undefined : await runningTwin(client, spec, resolve(file), owner);
  if (!twin) {
    if (options.extend) {
      throw new ExitError(`start --extend: nothing started: no running sweep of ${owner}'s from ${file} to extend`, 2);
    }
    return undefined;
  }
  if (!options.extend && !(await askToExtend(twin, file))) {
    throw new ExitError(
      `start: nothing started: sweep ${twin} from ${file} is running; --extend adds to it the trials the file ` +
        'adds, --new starts another',
      2,
    );
  }
  const record = await extendSweep(client, twin, spec, file);
  process.stdout.write(`${twin}\n`);
  process.stderr.write(
    `Extended sweep ${twin}: ${record?.result ?? `nothing to add, it has every trial of ${file}`}\n`,
  );
  return twin;
}

export async function runStart(file: string, commandArgs: string[], options: StartOptions, command: Command) {
  // Pinned to its class file's version now, so the check below knows which workers could take it.
  const spec = withClassVersion(readSpecFile(file, commandArgs, options), process.cwd());
  const connection = connectionFromOptions(command.opts());
  // With --wait the command is long-running: a server that is down or restarting is waited for, with one line.
  const client = options.wait
    ? await connectRetrying(connection, () => connectClient(connection))
    : await connectClient(connection);
  const share = defaultShare(spec, options.user);
  const sweepOptions: SweepOptions = {
    heartbeatTimeoutSeconds: options.heartbeatTimeout,
    window: Math.max(1, options.window ?? spec.maxParallel ?? DEFAULT_SWEEP_OPTIONS.window),
    pool: spec.pool,
    controlQueue: options.controlQueue,
    continueAsNewAfterEvents: options.continueAsNewAfter,
    maxLostAttempts: options.maxLost,
    ...(options.broadcastResults ? { broadcastResults: true } : {}),
    share,
  };
  // A trial no worker could ever hold would wait silently: say so before anything starts.
  const workers = options.waitForCapacity ? undefined : await registeredWorkers(client, spec.pool);
  const nowhere = spec.workerClass?.version
    ? whyNoClassWorker({ ref: spec.workerClass.ref, version: spec.workerClass.version }, workers)
    : whyFitsNowhere(resourceRequest(spec.resources), spec.pool, workers);
  if (nowhere) {
    await client.connection.close();
    throw new ExitError(
      `start: nothing started: every trial ${nowhere} (start anyway with --wait-for-capacity, for workers yet to come)`,
      2,
    );
  }
  const extended = await extendRunning(client, spec, file, share.owner, options).catch(async (error: unknown) => {
    await client.connection.close();
    throw error;
  });
  if (extended) {
    try {
      if (options.wait) await followSweep(client, extended, options);
    } finally {
      await client.connection.close();
    }
    return;
  }
  const sweepId = await startSweep(client, spec, sweepOptions, { specFile: resolve(file) });
  const link = webUiLink(connection, sweepId);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ sweepId, trials: trialCount(spec), webUi: link })}\n`);
  } else {
    process.stdout.write(`${sweepId}\n`);
    process.stderr.write(
      `Started sweep ${sweepId}: ${trialCount(spec)} trial(s) on pool "${spec.pool}".\n` +
        (link ? `  Web UI: ${link}\n` : '') +
        `  Follow it with: sweep watch ${sweepId}\n`,
    );
  }
  try {
    if (options.wait) await followSweep(client, sweepId, options);
  } finally {
    await client.connection.close();
  }
}

export function registerStartCommand(program: Command): void {
  addConnectionOptions(addResourceOptions(addSpecArguments(program.command('start'))))
    .description('validate a spec and start it as a durable sweep; prints its ID (nothing starts if invalid)')
    .option('--wait', 'follow the sweep to its end and print the results table', false)
    .option('--no-tty', 'with --wait: plain progress lines, one per change, even on a terminal')
    .option('--pool <name>', 'run on this worker pool (overrides pool: in the file)')
    .option('--user <name>', 'the owner the GPUs are shared by (default: $SWEEP_USER or $USER)', parseUserName)
    .option(
      '--priority <1-5>',
      'urgency against other sweeps, 1 most urgent (overrides priority:; default 3)',
      parsePriority,
    )
    .option(
      '--weight <w>',
      "the owner's share of slots against other owners (overrides weight:; default 1)",
      parseWeight,
    )
    .option(
      '--heartbeat-timeout <seconds>',
      'a worker silent this long is presumed dead; its trial moves',
      parseCount(2),
      DEFAULT_SWEEP_OPTIONS.heartbeatTimeoutSeconds,
    )
    .option(
      '--window <n>',
      'trials in flight at once, queued ahead of free slots (default: max_parallel or 64)',
      parseCount(1),
    )
    .option(
      '--continue-as-new-after <events>',
      'history events per sweep run before continuing as new',
      parseCount(100),
      DEFAULT_SWEEP_OPTIONS.continueAsNewAfterEvents,
    )
    .option(
      '--max-lost <n>',
      'fail a trial after its worker was lost this many times',
      parseCount(1),
      DEFAULT_SWEEP_OPTIONS.maxLostAttempts,
    )
    .option('--control-queue <name>', "queue of the workflow tasks; must match the workers'", CONTROL_QUEUE)
    .option('--broadcast-results', "broadcast each finished trial's result as a cache update to all trials", false)
    .option('--wait-for-capacity', 'start even if no worker of the pool could hold its trials now', false)
    .option('--json', 'print {sweepId, trials, webUi} as JSON', false)
    .option('--extend', "its sweep runs already (same name, or same file): add the file's new trials to it", false)
    .option('--new', 'start another sweep even if one from this spec runs', false)
    .action(runStart);
}
