import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { ExitError, UsageError } from '../../errors.js';
import {
  bringUpAll,
  describeUp,
  hostTemporalAddress,
  probeHost,
  probedGpus,
  syncProject,
  STATE_DIR,
} from '../../hosts/bring-up.js';
import { eachHost, hostsSummary, type HostResult } from '../../hosts/each-host.js';
import { formatBytes } from '../../hosts/byte-size.js';
import { rememberInventory, trialQueueOf } from '../../hosts/remote-trials.js';
import { defaultDataDir } from '../../server/data-dir.js';
import { knownHostsFile, sshFlags, sshOptionsOf, type SshFlagValues } from './hosts-options.js';
import { chooseGpus } from '../../hosts/host-workers.js';
import { loadInventory, type InventoryHost } from '../../hosts/inventory.js';
import { runAgent, statusSchema, stopSchema, type HostProbe, type HostStatus } from '../../hosts/remote-agent.js';
import { connectClient, type ConnectionConfig } from '../../temporal/connection-config.js';
import { echoTrials, type EchoResult } from '../echo-trials.js';
import { trialStateKey } from '../../temporal/search-attributes.js';
import { addConnectionOptions, connectionFromOptions } from '../connection-flags.js';
import { registeredWorkers, type RegisteredWorker } from '../pool-capacity.js';
import { formatDuration, formatTable } from '../table.js';

interface HostsOptions extends SshFlagValues {
  json: boolean;
  host: string[];
  echo: boolean;
}

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

/** The inventory's hosts, less those `--host` leaves out (a name that is not there is a usage error). */
function selectedHosts(files: readonly string[], wanted: readonly string[]): InventoryHost[] {
  const hosts = loadInventory(files);
  const unknown = wanted.filter((name) => !hosts.some((host) => host.name === name));
  if (unknown.length > 0) {
    throw new UsageError(
      `--host ${unknown.join(', ')}: not in the inventory (it has ${hosts.map((host) => host.name).join(', ')})`,
    );
  }
  return wanted.length ? hosts.filter((host) => wanted.includes(host.name)) : hosts;
}

/** Prints each failure on stderr and the summary; a command with a failed host exits 1. */
function finish(results: readonly HostResult<unknown>[], done: string): void {
  for (const result of results) if (result.error) process.stderr.write(`${result.error.message}\n`);
  const summary = hostsSummary(results, done);
  if (results.some((result) => result.error)) throw new ExitError(summary, 1);
  process.stderr.write(`${summary}\n`);
}

function jsonResults<T>(results: readonly HostResult<T>[], shape: (value: T) => object): string {
  return `${JSON.stringify(
    results.map((result) => ({
      host: result.host.name,
      ok: !result.error,
      ...(result.node ? { node: result.node } : {}),
      ...(result.error ? { step: result.error.step, error: result.error.reason } : {}),
      ...(result.value === undefined ? {} : shape(result.value)),
    })),
  )}\n`;
}

interface CheckReport {
  readonly probe: HostProbe;
  readonly gpus: string;
  readonly temporalAddress: string;
}

/** Echo trials on the live workers of the hosts that answered; none where Temporal cannot be reached from here. */
async function echoes(connection: ConnectionConfig, hosts: readonly InventoryHost[]): Promise<EchoResult[] | string> {
  let client: Client | undefined;
  try {
    client = await connectClient(connection);
    return await echoTrials(client, hosts);
  } catch (error) {
    return `no echo trials: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    await client?.connection.close();
  }
}

async function checkHosts(files: string[], options: HostsOptions, command: Command): Promise<void> {
  const connection = connectionFromOptions(command.opts());
  const hosts = selectedHosts(files, options.host);
  const results = await eachHost(hosts, sshOptionsOf(options), async (session, host): Promise<CheckReport> => {
    const temporalAddress = hostTemporalAddress(host, connection);
    const probe = await probeHost(session, host, temporalAddress);
    const found = probedGpus(host, probe);
    const choice = chooseGpus(host, found);
    const gpus =
      'problem' in choice
        ? choice.problem
        : found.length === 0
          ? 'none (CPU work only)'
          : `${found.length}: ${[...new Set(found.map((gpu) => gpu.name))].join(', ')}; using ${choice.gpus.join(',') || 'none'}`;
    return { probe, gpus, temporalAddress };
  });
  const answered = results.filter((result) => result.value).map((result) => result.host);
  const echo = options.echo && answered.length ? await echoes(connection, answered) : [];
  const echoOf = (host: string) => (typeof echo === 'string' ? [] : echo.filter((result) => result.host === host));
  if (options.json) {
    const withEcho = results.map((result) =>
      result.value ? { ...result, value: { ...result.value, echo: echoOf(result.host.name) } } : result,
    );
    process.stdout.write(jsonResults(withEcho, (report) => report));
  } else {
    const header = ['host', 'ssh', 'os', 'node', 'gpus', 'ram free', 'disk free', 'temporal', 'echo trial'];
    const rows = results.map(({ host, value, error, node }) => {
      if (!value) return [host.name, error?.step === 'ssh' ? 'FAILED' : 'ok', '', node ?? '', '', '', '', '', ''];
      const { probe } = value;
      const echoed = echoOf(host.name);
      return [
        host.name,
        'ok',
        `${probe.distro ?? probe.platform} (${probe.arch})`,
        probe.node,
        value.gpus,
        formatBytes(probe.memory.availableMb * 1e6),
        formatBytes(probe.disk.freeMb * 1e6),
        probe.temporal.reachable
          ? `${value.temporalAddress} ok (${probe.temporal.ms ?? 0} ms)`
          : `${value.temporalAddress} UNREACHABLE: ${probe.temporal.error ?? ''}`,
        echoed.length ? echoed.map((result) => `${result.worker}: ${result.detail}`).join('; ') : 'no live worker',
      ];
    });
    process.stdout.write(`${formatTable(header, rows)}\n`);
    if (typeof echo === 'string') process.stderr.write(`${echo}\n`);
  }
  for (const failed of typeof echo === 'string' ? [] : echo.filter((result) => !result.ok)) {
    process.stderr.write(`${failed.host}: echo trial on ${failed.worker}: ${failed.detail}\n`);
  }
  finish(results, 'checked');
}

async function upHosts(files: string[], options: HostsOptions, command: Command): Promise<void> {
  const connection = connectionFromOptions(command.opts());
  const hosts = selectedHosts(files, options.host);
  const results = await bringUpAll(hosts, sshOptionsOf(options), connection);
  // fetch and logs find the hosts (and their keys) without being told again.
  if (options.host.length === 0) rememberInventory(defaultDataDir(), files, knownHostsFile(options));
  if (options.json) {
    process.stdout.write(
      jsonResults(results, (outcome) => ({
        ...outcome,
        workers: outcome.workers.map((worker) => ({
          name: worker.name,
          ...(worker.gpu === undefined ? {} : { gpu: worker.gpu }),
        })),
      })),
    );
  } else {
    for (const result of results) if (result.value) process.stdout.write(`${describeUp(result.value)}\n`);
  }
  finish(results, 'up');
}

async function syncHosts(files: string[], options: HostsOptions): Promise<void> {
  const hosts = selectedHosts(files, options.host);
  const results = await eachHost(hosts, sshOptionsOf(options), (session, host) =>
    syncProject(session, host, host.remoteDir),
  );
  if (options.json) process.stdout.write(jsonResults(results, (sync) => sync));
  else
    for (const { host, value } of results)
      if (value)
        process.stdout.write(
          `${host.name}: ${value.files} files; ${value.sent.length} sent${value.sent.length ? ` (${value.sent.join(', ')})` : ''}` +
            `${value.removed.length ? `; ${value.removed.length} removed (${value.removed.join(', ')})` : ''}\n`,
        );
  finish(results, 'in sync');
}

export interface WorkerRow {
  readonly worker: string;
  readonly state: string;
  readonly pid?: number;
  readonly restarts: number;
  readonly gpu: string;
  readonly trials: readonly string[];
  readonly heartbeatAgoMs?: number;
  readonly version: string;
}

/** What Temporal knows of the pools' workers (heartbeats, running trials); nothing where it cannot be reached. */
async function temporalView(
  connection: ConnectionConfig,
  pools: readonly string[],
): Promise<{ workers: Map<string, RegisteredWorker>; trials: Map<string, string[]> } | undefined> {
  let client: Client | undefined;
  try {
    client = await connectClient(connection);
    const workers = new Map<string, RegisteredWorker>();
    for (const pool of pools)
      for (const worker of (await registeredWorkers(client, pool)) ?? []) workers.set(worker.capacity.name, worker);
    const trials = new Map<string, string[]>();
    const query = `${trialStateKey.name} = "running" AND ExecutionStatus = "Running"`;
    for await (const execution of client.workflow.list({ query })) {
      const queue = trialQueueOf(execution);
      if (queue !== undefined) trials.set(queue, [...(trials.get(queue) ?? []), execution.workflowId]);
    }
    return { workers, trials };
  } catch {
    return undefined;
  } finally {
    await client?.connection.close();
  }
}

async function statusHosts(files: string[], options: HostsOptions, command: Command): Promise<void> {
  const connection = connectionFromOptions(command.opts());
  const hosts = selectedHosts(files, options.host);
  const results = await eachHost(hosts, sshOptionsOf(options), async (session, host) =>
    runAgent(session, host.node, 'status', { stateDir: `~/${STATE_DIR}` }, statusSchema),
  );
  const view = await temporalView(connection, [...new Set(hosts.map((host) => host.pool))]);
  const now = Date.now();
  const rows = (status: HostStatus): WorkerRow[] =>
    status.workers.map((worker) => {
      const registered = view?.workers.get(worker.name);
      const gpu = /-gpu(\d+)$/.exec(worker.name)?.[1];
      return {
        worker: worker.name,
        state: !worker.running
          ? 'down'
          : registered
            ? 'up'
            : view
              ? 'starting (no heartbeat yet)'
              : 'running (Temporal not reachable)',
        ...(worker.pid === undefined ? {} : { pid: worker.pid }),
        restarts: worker.restarts,
        gpu: gpu ?? 'cpu',
        trials: view?.trials.get(worker.name) ?? [],
        ...(registered ? { heartbeatAgoMs: now - registered.heartbeatAt } : {}),
        version: worker.bundle ?? '',
      };
    });
  if (options.json) {
    process.stdout.write(jsonResults(results, (status) => ({ supervisor: status.supervisor, workers: rows(status) })));
  } else {
    const header = ['host', 'worker', 'state', 'gpu', 'trial', 'heartbeat', 'restarts', 'version'];
    const table = results.flatMap(({ host, value, error }) => {
      if (!value) return [[host.name, '', `unknown: ${error?.step}`, '', '', '', '', '']];
      if (value.workers.length === 0) return [[host.name, '', 'no workers (sweep hosts up)', '', '', '', '', '']];
      return rows(value).map((row) => [
        host.name,
        row.worker,
        row.state,
        row.gpu,
        row.trials.join(' '),
        row.heartbeatAgoMs === undefined ? '' : `${formatDuration(row.heartbeatAgoMs)} ago`,
        String(row.restarts),
        row.version,
      ]);
    });
    process.stdout.write(`${formatTable(header, table)}\n`);
  }
  finish(results, 'answered');
}

async function downHosts(files: string[], options: HostsOptions & { purge: boolean }): Promise<void> {
  const hosts = selectedHosts(files, options.host);
  const results = await eachHost(hosts, sshOptionsOf(options), (session, host) =>
    runAgent(
      session,
      host.node,
      'stop',
      { stateDir: `~/${STATE_DIR}`, purge: options.purge ? [host.remoteDir] : [] },
      stopSchema,
    ),
  );
  if (options.json) process.stdout.write(jsonResults(results, (stopped) => stopped));
  else
    for (const { host, value } of results)
      if (value)
        process.stdout.write(
          `${host.name}: workers stopped, Sweep's state removed${options.purge ? ', project directory removed' : ' (project files kept)'}` +
            `${value.killed.length ? `; ${value.killed.length} stray process(es) killed` : ''}\n`,
        );
  finish(results, 'down');
}

function hostsCommand(parent: Command, name: string, description: string): Command {
  return sshFlags(
    parent
      .command(name)
      .argument(
        '<files...>',
        'hosts.yml, or ml-scheduler machine files (also looked up with .yaml and in ~/.local/var/)',
      )
      .option('--host <name>', 'only this host (repeatable)', (value: string, list: string[]) => [...list, value], [])
      .option('--json', 'print one JSON object per host', false),
  ).description(description);
}

export function registerHostsCommand(program: Command): void {
  const hosts = program
    .command('hosts')
    .description('bring workers up on your GPU machines over ssh, keep them in sync, see them, tear them down');
  hosts
    .command('list')
    .argument('<files...>', 'hosts.yml, or ml-scheduler machine files (also looked up with .yaml and in ~/.local/var/)')
    .option('--json', 'print the resolved hosts as JSON', false)
    .description('validate an inventory and print each host as ssh will reach it (~/.ssh/config aliases resolved)')
    .action(listHosts);
  addConnectionOptions(
    hostsCommand(
      hosts,
      'check',
      'for every host: ssh, OS, Node, GPUs, free RAM and disk, whether it reaches Temporal, an echo trial per worker',
    ).option('--no-echo', 'skip the echo trial on each live worker'),
  ).action(checkHosts);
  addConnectionOptions(
    hostsCommand(
      hosts,
      'up',
      'ship the worker bundle and the project, start one supervised worker per GPU (idempotent)',
    ),
  ).action(upHosts);
  addConnectionOptions(
    hostsCommand(
      hosts,
      'status',
      'each worker: up or down, queue, GPU, running trial, last heartbeat, restarts, version',
    ),
  ).action(statusHosts);
  hostsCommand(hosts, 'sync', 'send the project files that changed (files only; workers keep running)').action(
    syncHosts,
  );
  hostsCommand(hosts, 'down', "stop and remove the workers and Sweep's state (project files stay unless --purge)")
    .option('--purge', 'also remove the project directory on each host (results in it included)', false)
    .action(downHosts);
}
