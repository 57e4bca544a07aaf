// The ssh flags every command that reaches the hosts shares, and which inventory it uses: the one named with
// --hosts, else the one `sweep hosts up` last brought up.
import type { Command } from 'commander';
import { userInfo } from 'node:os';
import { ConfigError } from '../../errors.js';
import { jumpTarget, userSshConfig } from '../../hosts/each-host.js';
import { rememberedInventory } from '../../hosts/remote-trials.js';
import { defaultKnownHostsFile, type SshOptions } from '../../hosts/ssh-session.js';
import { defaultDataDir } from '../../server/data-dir.js';
import { parsePositive } from '../option-parsers.js';

export interface SshFlagValues {
  knownHosts?: string;
  acceptNewHostKeys: boolean;
  connectTimeout: number;
}

export interface RemoteHostsOptions extends SshFlagValues {
  hosts?: string[];
}

export function sshFlags(command: Command): Command {
  return command
    .option('--known-hosts <file>', 'where host keys are checked (default ~/.ssh/known_hosts, or the one up used)')
    .option(
      '--accept-new-host-keys',
      'trust and record the key of a host seen for the first time (never a changed key)',
      false,
    )
    .option('--connect-timeout <seconds>', 'how long to wait for each host to answer', parsePositive, 10);
}

export function hostsFlags(command: Command): Command {
  return sshFlags(command).option('--hosts <files...>', 'the inventory (default: the one sweep hosts up last used)');
}

export function knownHostsFile(options: SshFlagValues): string {
  return options.knownHosts ?? rememberedInventory(defaultDataDir())?.knownHosts ?? defaultKnownHostsFile();
}

export function sshOptionsOf(options: SshFlagValues): SshOptions {
  const config = userSshConfig();
  const localUser = userInfo().username;
  return {
    knownHostsFile: knownHostsFile(options),
    acceptNewHostKeys: options.acceptNewHostKeys,
    connectTimeoutMs: options.connectTimeout * 1000,
    resolveJump: (jump) => jumpTarget(jump, config, localUser),
  };
}

export function inventoryFiles(options: RemoteHostsOptions, dataDir: string): string[] {
  const files = options.hosts ?? rememberedInventory(dataDir)?.files;
  if (!files) throw new ConfigError(['--hosts: no inventory given, and sweep hosts up has not been run here']);
  return files;
}
