// `sweep pause | resume | edit | rerun | stop`: steer a running sweep. Each prints what it changed, as the sweep recorded it.
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { parseDurationSeconds } from '../../sweep-spec/quantities.js';
import { renderTrial } from '../../sweep-spec/render.js';
import type { GridStep } from '../../workflows/grid-growth.js';
import type { SweepChange } from '../../workflows/sweep-changes.js';
import { parseAxisValues, parseCount, parsePriority, parseWeight, type AxisValues } from '../option-parsers.js';
import { writeOut } from '../output.js';
import { startSweep, sweepMemo } from '../sweep-client.js';
import { sweepCommand } from '../sweep-command.js';
import { changeSweep } from '../sweep-steering.js';
import { trialIndexOf } from '../trial-ref.js';
import { withClient } from '../with-client.js';

interface EditOptions {
  add: AxisValues[];
  addParam: AxisValues[];
  samples?: number;
  maxParallel?: number;
  retries?: number;
  timeout?: string;
  priority?: number;
  weight?: number;
}

/** The grid flags as one change: new values first, then new axes, then draws (the trials added are the same). */
function growthOf(options: EditOptions): SweepChange | undefined {
  const steps: GridStep[] = [
    ...options.add.map((axis) => ({ kind: 'add-values' as const, ...axis })),
    ...options.addParam.map((axis) => ({ kind: 'add-parameter' as const, ...axis })),
    ...(options.samples === undefined ? [] : [{ kind: 'add-samples' as const, samples: options.samples }]),
  ];
  return steps.length > 0 ? { kind: 'grow', steps } : undefined;
}

function settingsOf(options: EditOptions): SweepChange | undefined {
  const { maxParallel, retries, timeout, priority, weight } = options;
  if ([maxParallel, retries, timeout, priority, weight].every((value) => value === undefined)) return;
  return {
    kind: 'set',
    ...(maxParallel === undefined ? {} : { maxParallel }),
    ...(retries === undefined ? {} : { retries }),
    ...(timeout === undefined ? {} : { timeoutSeconds: timeoutOf(timeout) }),
    ...(priority === undefined ? {} : { priority }),
    ...(weight === undefined ? {} : { weight }),
  };
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

/** Each change in turn, each said as the sweep recorded it; one refused stops the rest. */
async function applyAndSay(
  command: Command,
  sweepId: string,
  changes: (client: Client) => readonly SweepChange[] | Promise<readonly SweepChange[]>,
) {
  await withClient(command, async (client) => {
    for (const change of await changes(client)) {
      const record = await changeSweep(client, sweepId, change);
      await writeOut(`${sweepId}: ${record.result}\n`);
    }
  });
}

export function registerSteerCommands(program: Command): void {
  sweepCommand(program, 'pause')
    .description('start no new trial of a running sweep; running trials finish (resume with sweep resume)')
    .option(
      '--hold',
      'also stop each running trial right after its next checkpoint (@sweep-checkpoint): it goes back to the ' +
        'queue and resumes from there; trials that report no checkpoint finish',
    )
    .action((sweepId: string, options: { hold?: boolean }, command: Command) =>
      applyAndSay(command, sweepId, () => [{ kind: 'pause', ...(options.hold ? { hold: true } : {}) }]),
    );
  sweepCommand(program, 'resume')
    .description('let a paused sweep start trials again')
    .action((sweepId: string, _options: unknown, command: Command) =>
      applyAndSay(command, sweepId, () => [{ kind: 'resume' }]),
    );
  sweepCommand(program, 'edit')
    .option(
      '--add <name=values>',
      'new values on a grid axis, e.g. lr=0.3,0.5: only the new combinations run (repeatable)',
      parseAxisValues,
      [],
    )
    .option(
      '--add-param <name=values>',
      'a new axis, e.g. seed=1,2: the trials so far count as its first value (repeatable)',
      parseAxisValues,
      [],
    )
    .option('--samples <n>', 'this many more random draws per grid point', parseCount(1))
    .option('--max-parallel <n>', 'trials at once from now on (lowering lets running trials finish)', parseCount(1))
    .option('--retries <n>', 'retries of a failing command, for trials not started yet', parseCount(0))
    .option('--timeout <duration>', 'per attempt (90s, 2h, or none), for trials not started yet')
    .option(
      '--priority <1-5>',
      'urgency against other sweeps (1 most urgent), for trials not handed out yet',
      parsePriority,
    )
    .option(
      '--weight <w>',
      "the owner's share of slots against other owners, for trials not handed out yet",
      parseWeight,
    )
    .description('change a running sweep; the change is recorded with who made it (sweep status lists them)')
    .action((sweepId: string, options: EditOptions, command: Command) =>
      applyAndSay(command, sweepId, () => {
        const changes = [growthOf(options), settingsOf(options)].filter((change) => change !== undefined);
        if (changes.length === 0) {
          throw new ConfigError([
            'sweep edit: nothing to change: give --add, --add-param, --samples, --max-parallel, --retries, --timeout, --priority or --weight',
          ]);
        }
        return changes;
      }),
    );
  sweepCommand(program, 'rerun')
    .argument('<trial>', 'trial index or name')
    .description(
      'run a trial that has ended again from scratch, with its parameters: in a running sweep as a new trial, ' +
        'after a sweep has ended as a new linked sweep; the first run stays on record',
    )
    .action((sweepId: string, trial: string, _options: unknown, command: Command) =>
      withClient(command, async (client) => {
        const memo = await sweepMemo(client, sweepId);
        const index = trialIndexOf(memo.spec, sweepId, trial);
        if (memo.status === 'RUNNING') {
          const record = await changeSweep(client, sweepId, { kind: 'rerun-trial', index });
          await writeOut(`${sweepId}: ${record.result}\n`);
          return;
        }
        // Its own trial directory (no origin): a rerun starts from scratch, not from the old run's checkpoint.
        const { origin: _origin, ...options } = memo.options;
        const rerunId = await startSweep(client, memo.spec, options, { indices: [index], retryOf: sweepId });
        await writeOut(`${rerunId}\n`);
        process.stderr.write(
          `${sweepId} has ended: rerunning ${renderTrial(memo.spec, index).name} as sweep ${rerunId}\n`,
        );
      }),
    );
  sweepCommand(program, 'stop')
    .argument('<trial>', 'trial index or name')
    .description('stop one trial (recorded as stopped by you, not failed); the others go on')
    .action((sweepId: string, trial: string, _options: unknown, command: Command) =>
      applyAndSay(command, sweepId, async (client) => {
        const memo = await sweepMemo(client, sweepId);
        return [{ kind: 'stop-trial', index: trialIndexOf(memo.spec, sweepId, trial) }];
      }),
    );
}
