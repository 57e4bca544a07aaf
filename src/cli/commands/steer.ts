// `sweep pause | resume | edit | stop`: steer a running sweep. Each prints what it changed, as the sweep recorded it.
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { parseDurationSeconds } from '../../sweep-spec/quantities.js';
import type { SweepChange } from '../../workflows/sweep-changes.js';
import { parseCount } from '../option-parsers.js';
import { writeOut } from '../output.js';
import { sweepMemo } from '../sweep-client.js';
import { sweepCommand } from '../sweep-command.js';
import { changeSweep } from '../sweep-steering.js';
import { trialIndexOf } from '../trial-ref.js';
import { withClient } from '../with-client.js';

interface EditOptions {
  maxParallel?: number;
  retries?: number;
  timeout?: string;
}

/** `--timeout 2h`, or `none` for no timeout. */
function timeoutOf(value: string): number | null {
  if (value === 'none') return null;
  const seconds = parseDurationSeconds(value);
  if (seconds === undefined) {
    throw new ConfigError([`--timeout ${value}: expected a duration such as 90s, 30m or 2h, or none`]);
  }
  return seconds;
}

async function applyAndSay(
  command: Command,
  sweepId: string,
  change: (client: Client) => SweepChange | Promise<SweepChange>,
) {
  await withClient(command, async (client) => {
    const record = await changeSweep(client, sweepId, await change(client));
    await writeOut(`${sweepId}: ${record.result}\n`);
  });
}

export function registerSteerCommands(program: Command): void {
  sweepCommand(program, 'pause')
    .description('start no new trial of a running sweep; running trials finish (resume with sweep resume)')
    .action((sweepId: string, _options: unknown, command: Command) =>
      applyAndSay(command, sweepId, () => ({ kind: 'pause' })),
    );
  sweepCommand(program, 'resume')
    .description('let a paused sweep start trials again')
    .action((sweepId: string, _options: unknown, command: Command) =>
      applyAndSay(command, sweepId, () => ({ kind: 'resume' })),
    );
  sweepCommand(program, 'edit')
    .option('--max-parallel <n>', 'trials at once from now on (lowering lets running trials finish)', parseCount(1))
    .option('--retries <n>', 'retries of a failing command, for trials not started yet', parseCount(0))
    .option('--timeout <duration>', 'per attempt (90s, 2h, or none), for trials not started yet')
    .description('change a running sweep; the change is recorded with who made it (sweep status lists them)')
    .action((sweepId: string, options: EditOptions, command: Command) =>
      applyAndSay(command, sweepId, () => {
        if (options.maxParallel === undefined && options.retries === undefined && options.timeout === undefined) {
          throw new ConfigError(['sweep edit: nothing to change: give --max-parallel, --retries or --timeout']);
        }
        return {
          kind: 'set',
          ...(options.maxParallel === undefined ? {} : { maxParallel: options.maxParallel }),
          ...(options.retries === undefined ? {} : { retries: options.retries }),
          ...(options.timeout === undefined ? {} : { timeoutSeconds: timeoutOf(options.timeout) }),
        };
      }),
    );
  sweepCommand(program, 'stop')
    .argument('<trial>', 'trial index or name')
    .description('stop one trial (recorded as stopped by you, not failed); the others go on')
    .action((sweepId: string, trial: string, _options: unknown, command: Command) =>
      applyAndSay(command, sweepId, async (client) => {
        const memo = await sweepMemo(client, sweepId);
        return { kind: 'stop-trial', index: trialIndexOf(memo.spec, sweepId, trial) };
      }),
    );
}
