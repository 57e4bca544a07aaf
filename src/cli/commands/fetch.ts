import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { ConfigError, ExitError } from '../../errors.js';
import { eachHost, hostsSummary } from '../../hosts/each-host.js';
import { loadInventory, type InventoryHost } from '../../hosts/inventory.js';
import { copyBack, hostOfQueue, remoteTrialDir, trialQueues } from '../../hosts/remote-trials.js';
import { defaultDataDir } from '../../server/data-dir.js';
import { renderTrial } from '../../sweep-spec/render.js';
import { sweepMemo } from '../sweep-client.js';
import { sweepCommand } from '../sweep-command.js';
import { withClient } from '../with-client.js';
import { hostsFlags, inventoryFiles, sshOptionsOf, type RemoteHostsOptions } from './hosts-options.js';

interface FetchOptions extends RemoteHostsOptions {
  trial: string[];
  to?: string;
}

export function registerFetchCommand(program: Command): void {
  hostsFlags(sweepCommand(program, 'fetch'))
    .option('--trial <index>', 'only this trial (repeatable)', (value: string, list: string[]) => [...list, value], [])
    .option('--to <dir>', "where each trial's directory goes (default ./<sweep-id>)")
    .description(
      "copy each trial's directory back from the host that ran it (files already here are never overwritten)",
    )
    .action(async (sweepId: string, options: FetchOptions, command: Command) =>
      withClient(command, async (client) => {
        const memo = await sweepMemo(client, sweepId);
        const hosts = loadInventory(inventoryFiles(options, defaultDataDir()));
        const wanted = new Set(options.trial.map(Number));
        const where = (await trialQueues(client, sweepId)).filter(
          (trial) => wanted.size === 0 || wanted.has(trial.index),
        );
        const into = resolve(options.to ?? sweepId);
        const directorySweepId = memo.options.origin ?? sweepId;
        const byHost = new Map<InventoryHost, { index: number; name: string }[]>();
        const elsewhere: string[] = [];
        for (const trial of where) {
          const name = renderTrial(memo.spec, trial.index).name;
          const host = trial.queue ? hostOfQueue(hosts, trial.queue) : undefined;
          if (!host) elsewhere.push(`${name} (${trial.queue ?? 'never started'})`);
          else byHost.set(host, [...(byHost.get(host) ?? []), { index: trial.index, name }]);
        }
        if (where.length === 0) throw new ConfigError([`${sweepId}: no trial has started yet`]);
        const results = await eachHost([...byHost.keys()], sshOptionsOf(options), async (session, host) => {
          let written = 0;
          let skipped = 0;
          for (const trial of byHost.get(host) ?? []) {
            const counts = await copyBack(
              session,
              host,
              remoteTrialDir(host, directorySweepId, trial.name),
              null,
              join(into, trial.name),
            );
            written += counts.written;
            skipped += counts.skipped;
          }
          return { trials: byHost.get(host)?.length ?? 0, written, skipped };
        });
        for (const { host, value, error } of results) {
          if (error) process.stderr.write(`${error.message}\n`);
          else if (value)
            process.stdout.write(
              `${host.name}: ${value.trials} trial(s), ${value.written} file(s) copied to ${into}` +
                `${value.skipped ? `, ${value.skipped} already here (kept)` : ''}\n`,
            );
        }
        if (elsewhere.length) {
          process.stderr.write(
            `not on a host of the inventory (their directories stay where they ran): ${elsewhere.join(', ')}\n`,
          );
        }
        const summary = hostsSummary(results, 'fetched');
        if (results.some((result) => result.error)) throw new ExitError(summary, 1);
        process.stderr.write(`${summary}\n`);
      }),
    );
}
