import type { Command } from 'commander';
import { loadInventory, type InventoryHost } from '../../hosts/inventory.js';
import { formatTable } from '../table.js';

function gpusCell(host: InventoryHost): string {
  const which = host.gpus === 'all' ? 'all' : host.gpus.join(',');
  const limits = [
    host.maxGpus === undefined ? '' : `at most ${host.maxGpus}`,
    host.minGpuMemoryMb === undefined ? '' : `≥ ${host.minGpuMemoryMb} MB free`,
  ].filter(Boolean);
  return limits.length ? `${which} (${limits.join(', ')})` : which;
}

function listHosts(files: string[], options: { json: boolean }): void {
  const hosts = loadInventory(files);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(hosts)}\n`);
    return;
  }
  const header = ['host', 'ssh', 'keys', 'via', 'gpus', 'pool', 'labels', 'remote dir'];
  const rows = hosts.map((host) => [
    host.name,
    `${host.user}@${host.address}:${host.port}`,
    [...host.keyFiles, ...(host.agent ? ['agent'] : [])].join(', '),
    host.proxyJump ?? '',
    gpusCell(host),
    host.pool,
    Object.entries(host.labels)
      .map(([name, value]) => `${name}=${value}`)
      .join(' '),
    host.remoteDir,
  ]);
  process.stdout.write(`${formatTable(header, rows)}\n`);
}

export function registerHostsCommand(program: Command): void {
  const hosts = program
    .command('hosts')
    .description('the GPU hosts of an inventory (hosts.yml, or ml-scheduler machine files)');
  hosts
    .command('list')
    .argument('<files...>', 'hosts.yml, or ml-scheduler machine files (also looked up with .yaml and in ~/.local/var/)')
    .option('--json', 'print the resolved hosts as JSON', false)
    .description('validate an inventory and print each host as ssh will reach it (~/.ssh/config aliases resolved)')
    .action(listHosts);
}
