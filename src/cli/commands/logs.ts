import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import type { Client } from '@temporalio/client';
import { eachHost } from '../../hosts/each-host.js';
import { loadInventory } from '../../hosts/inventory.js';
import { copyBack, hostOfQueue, rememberedInventory, remoteTrialDir, trialQueues } from '../../hosts/remote-trials.js';
import { sshOptionsOf, type RemoteHostsOptions } from './hosts-options.js';
import { setTimeout as delay } from 'node:timers/promises';
import type { Command } from 'commander';
import { ConfigError, ExitError } from '../../errors.js';
import { defaultDataDir } from '../../server/data-dir.js';
import { renderTrial } from '../../sweep-spec/render.js';
import { logFileName, trialWorkflowId } from '../../temporal/names.js';
import { parseCount } from '../option-parsers.js';
import { writeOut } from '../output.js';
import { sweepMemo } from '../sweep-client.js';
import { sweepCommand } from '../sweep-command.js';
import { withClient } from '../with-client.js';
import { trialIndexOf } from '../trial-ref.js';

interface LogsOptions extends RemoteHostsOptions {
  follow: boolean;
  stderr: boolean;
  attempt?: number;
  dataDir: string;
  trialsDir?: string;
}

/** Copies `file` from byte `from` to stdout; returns the new offset. */
async function copyFrom(file: string, from: number): Promise<number> {
  const size = existsSync(file) ? statSync(file).size : 0;
  if (size <= from) return from;
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(size - from, 1 << 20));
    let offset = from;
    while (offset < size) {
      const read = readSync(fd, buffer, 0, Math.min(buffer.length, size - offset), offset);
      if (read === 0) break;
      await writeOut(buffer.subarray(0, read).toString('utf8'));
      offset += read;
    }
    return offset;
  } finally {
    closeSync(fd);
  }
}

/** The trial's logs directory on the inventory host that ran it, fetched afresh on each refresh. */
async function remoteLogs(
  client: Client,
  options: LogsOptions,
  sweepId: string,
  directorySweepId: string,
  index: number,
  trialName: string,
): Promise<{ refresh: () => Promise<string> } | undefined> {
  const remembered = options.hosts ?? rememberedInventory(options.dataDir)?.files;
  if (!remembered) return undefined;
  const queue = (await trialQueues(client, sweepId)).find((trial) => trial.index === index)?.queue;
  const host = queue ? hostOfQueue(loadInventory(remembered), queue) : undefined;
  if (!host) return undefined;
  const remoteDir = posix.join(remoteTrialDir(host, directorySweepId, trialName), 'logs');
  const ssh = sshOptionsOf({ ...options, acceptNewHostKeys: false, connectTimeout: 10 });
  let last: string | undefined;
  process.once('exit', () => last && rmSync(last, { recursive: true, force: true }));
  return {
    refresh: async () => {
      if (last) rmSync(last, { recursive: true, force: true });
      const scratch = mkdtempSync(join(tmpdir(), 'sweep-logs-'));
      last = scratch;
      const [result] = await eachHost([host], ssh, (session) => copyBack(session, host, remoteDir, null, scratch));
      if (result?.error) throw new ExitError(result.error.message, 1);
      return scratch;
    },
  };
}

export function registerLogsCommand(program: Command): void {
  sweepCommand(program, 'logs')
    .argument('<trial>', 'trial index or name')
    .option('--follow', 'keep printing as the trial writes, until it ends', false)
    .option('--stderr', "the trial's stderr instead of its stdout", false)
    .option('--attempt <n>', 'which attempt (default: the latest)', parseCount(1))
    .option('--data-dir <dir>', "the workers' data directory", defaultDataDir())
    .option('--trials-dir <dir>', "the workers' trial directories (default <data-dir>/trials)")
    .option('--hosts <files...>', 'the inventory whose hosts may hold the logs (default: the one sweep hosts up used)')
    .option('--known-hosts <file>', 'where host keys are checked (default ~/.ssh/known_hosts, or the one up used)')
    .description("print a trial's captured stdout or stderr (from the trial directory on this host or shared storage)")
    .action(async (sweepId: string, trial: string, options: LogsOptions, command: Command) =>
      withClient(command, async (client) => {
        const memo = await sweepMemo(client, sweepId);
        const index = trialIndexOf(memo.spec, sweepId, trial);
        const trialName = renderTrial(memo.spec, index).name;
        const directorySweepId = memo.options.origin ?? sweepId;
        const localDir = join(
          options.trialsDir ?? join(options.dataDir, 'trials'),
          directorySweepId,
          trialName,
          'logs',
        );
        // Not here: the host of the inventory that ran it, if there is one, copied into a scratch directory.
        const remote = existsSync(localDir)
          ? undefined
          : await remoteLogs(client, options, sweepId, directorySweepId, index, trialName);
        const logsDir = remote ? await remote.refresh() : localDir;
        const stream = options.stderr ? 'stderr' : 'stdout';
        const attempts = existsSync(logsDir)
          ? readdirSync(logsDir).flatMap((name) =>
              name.endsWith(`.${stream}`) ? [Number(/attempt-(\d+)/.exec(name)?.[1])] : [],
            )
          : [];
        const attempt = options.attempt ?? Math.max(0, ...attempts);
        if (!options.follow && !attempts.includes(attempt)) {
          throw new ConfigError([
            `${sweepId} trial ${index}: no ${stream} log in ${logsDir}${attempt ? ` for attempt ${attempt}` : ''}; ` +
              'it runs (or ran) on a host outside the inventory (--hosts): use --trials-dir on shared storage, or run sweep logs there',
          ]);
        }
        const file = join(logsDir, logFileName(sweepId, Math.max(attempt, 1), stream));
        let offset = await copyFrom(file, 0);
        if (!options.follow) return;
        const handle = client.workflow.getHandle(trialWorkflowId(sweepId, index));
        for (;;) {
          const { status } = await handle.describe();
          if (remote) await remote.refresh();
          offset = await copyFrom(file, offset);
          if (status.name !== 'RUNNING') return;
          await delay(250);
        }
      }),
    );
}
