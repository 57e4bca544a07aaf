// `sweep batch jobs.sh`: ml-scheduler's batch files as a sweep: one trial per line, named as ml-scheduler named
// its jobs, placed by the same resources as any sweep, followed with its progress lines, and its outputs
// collected under job_results/. Rerunning skips the jobs that succeeded.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { dump } from 'js-yaml';
import { ConfigError, ExitError, UsageError } from '../../errors.js';
import { bringUpAll, describeUp, type UpOutcome } from '../../hosts/bring-up.js';
import { eachHost, hostsSummary } from '../../hosts/each-host.js';
import { loadInventory, type InventoryHost } from '../../hosts/inventory.js';
import { copyBack, hostOfQueue, remoteTrialDir } from '../../hosts/remote-trials.js';
import { defaultDataDir } from '../../server/data-dir.js';
import { parseSpec } from '../../sweep-spec/load-spec.js';
import { formatProblem } from '../../sweep-spec/problems.js';
import type { SweepSpec } from '../../sweep-spec/spec-types.js';
import { connectRetrying } from '../../temporal/connect-retrying.js';
import { connectClient } from '../../temporal/connection-config.js';
import { CONTROL_QUEUE, DEFAULT_POOL } from '../../temporal/names.js';
import { describeRequest, resourceRequest } from '../../workflows/resource-request.js';
import type { TrialSummary } from '../../workflows/types.js';
import { readBatch, batchPrefix, type BatchJob } from '../batch-file.js';
import { collectJob, jobRecord, succeededBefore } from '../batch-results.js';
import { addConnectionOptions, connectionFromOptions } from '../connection-flags.js';
import { registeredWorkers, whyFitsNowhere, type RegisteredWorker } from '../pool-capacity.js';
import { addResourceOptions, resourceOverrides, type ResourceOptions } from '../resource-flags.js';
import { DEFAULT_SWEEP_OPTIONS, startSweep, sweepMemo, trialRows } from '../sweep-client.js';
import { inventoryFiles, sshFlags, sshOptionsOf, type RemoteHostsOptions } from './hosts-options.js';
import { setTimeout as delay } from 'node:timers/promises';

interface BatchOptions extends ResourceOptions, RemoteHostsOptions {
  dryRun: boolean;
  results: string;
  pool: string;
  controlQueue: string;
  dataDir: string;
  trialsDir?: string;
  waitForCapacity: boolean;
}

const POLL_EVERY_MS = 1000;

/** The batch as a sweep spec: `bash -c <line>` per trial, validated like any spec (resource flags included). */
function batchSpec(file: string, jobs: readonly BatchJob[], options: BatchOptions): SweepSpec {
  const name = `batch-${batchPrefix(file)}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 63);
  const text = dump({
    name,
    command: ['bash', '-c', '{line}'],
    args: 'none',
    parameters: { line: jobs.map((job) => job.command) },
  });
  const resources = resourceOverrides(options);
  const result = parseSpec(text, {
    pool: options.pool,
    ...(Object.keys(resources).length > 0 ? { resources } : {}),
  });
  if (!result.ok) throw new ConfigError(result.problems.map((problem) => formatProblem(file, problem)));
  // No workdir: a job runs where `sweep batch` ran (the sweep's start directory), or in the project copy on a
  // host that `--hosts` brought up.
  return {
    ...result.spec,
    trialNames: jobs.map((job) => job.name),
    batchFile: resolve(file),
  };
}

/** `hostb: 2 GPUs (NVIDIA A100, 80 GiB), 1 slot each; hostb-cpu: 4 CPU slots`. */
function describeWorkers(workers: readonly RegisteredWorker[] | undefined, pool: string): string {
  if (!workers) return `workers: not listed by this server`;
  if (workers.length === 0) return `workers: none live in pool "${pool}" yet; jobs wait for one`;
  return `workers: ${workers
    .map(({ capacity }) => {
      const gpus = capacity.gpus.length
        ? `${capacity.gpus.length} GPU(s) (${[...new Set(capacity.gpus.map((gpu) => gpu.name))].join(', ')}), ${capacity.slotsPerGpu} slot(s) each`
        : '';
      const cpu = capacity.cpuSlots ? `${capacity.cpuSlots} CPU slot(s)` : '';
      return `${capacity.name}: ${[gpus, cpu].filter(Boolean).join(', ')}`;
    })
    .join('; ')}`;
}

/** A running sweep of this batch file started earlier (a rerun while it runs follows it instead of doubling it). */
async function runningBatch(client: Client, spec: SweepSpec): Promise<string | undefined> {
  const query = `WorkflowType = "sweepWorkflow" AND ExecutionStatus = "Running" AND WorkflowId STARTS_WITH "${spec.name}-"`;
  for await (const execution of client.workflow.list({ query, pageSize: 20 })) {
    const memo = execution.memo as { spec?: SweepSpec } | undefined;
    if (memo?.spec?.batchFile === spec.batchFile) return execution.workflowId;
  }
  return undefined;
}

/** On Ctrl-C: ask whether to cancel the running jobs; by default they keep running, durably. */
async function onInterrupt(client: Client, sweepId: string, running: number): Promise<never> {
  const leave = `sweep: the jobs keep running as sweep ${sweepId}: follow them with \`sweep watch ${sweepId}\`, cancel them with \`sweep cancel ${sweepId}\`, or run the batch again to collect their results`;
  if (process.stdin.isTTY) {
    const prompt = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await prompt.question(`\ncancel the ${running} running job(s) of sweep ${sweepId}? [y/N] `);
    prompt.close();
    if (/^y(es)?$/i.test(answer.trim())) {
      await client.workflow.getHandle(sweepId).cancel();
      throw new ExitError(`sweep: cancellation of sweep ${sweepId} requested; its jobs are being stopped`, 130);
    }
  }
  throw new ExitError(leave, 130);
}

/** The pool the inventory's hosts serve, unless --pool names one; hosts of several pools need --pool. */
function inventoryPool(hosts: readonly InventoryHost[], options: BatchOptions, command: Command): string {
  if (command.getOptionValueSource('pool') === 'cli') return options.pool;
  const pools = [...new Set(hosts.map((host) => host.pool))];
  if (pools.length !== 1)
    throw new UsageError(`--hosts: the hosts serve pools ${pools.join(', ')}: say which with --pool`);
  return pools[0] ?? options.pool;
}

/**
 * ml-scheduler's way, made durable: the project copied forward (and workers brought up) on every host of the
 * inventory, the jobs placed on them, each job's outputs copied back into job_results/.
 */
async function bringUpForBatch(options: BatchOptions, command: Command): Promise<InventoryHost[]> {
  const hosts = loadInventory(inventoryFiles(options, options.dataDir));
  const results = await bringUpAll(hosts, sshOptionsOf(options), connectionFromOptions(command.opts()));
  for (const result of results) {
    process.stderr.write(`${result.error ? result.error.message : describeUp(result.value as UpOutcome)}\n`);
  }
  const summary = hostsSummary(results, 'up');
  if (results.every((result) => result.error)) throw new ExitError(`batch: nothing started: ${summary}`, 1);
  process.stderr.write(`${summary}\n`);
  return hosts;
}

/** Where a finished job's trial directory can be read: here (or on shared storage), else copied back from its host. */
function trialDirReader(trialsDir: string, hosts: readonly InventoryHost[], options: BatchOptions) {
  return async (row: TrialSummary): Promise<string> => {
    const local = resolve(trialsDir, row.sweepId, row.name);
    const host = row.worker ? hostOfQueue(hosts, row.worker) : undefined;
    if (existsSync(local) || !host) return local;
    const copy = mkdtempSync(join(tmpdir(), 'sweep-batch-'));
    const [result] = await eachHost([host], sshOptionsOf(options), (session) =>
      copyBack(session, host, remoteTrialDir(host, row.sweepId, row.name), null, copy),
    );
    if (result?.error) process.stderr.write(`${result.error.message}\n`);
    return copy;
  };
}

async function runBatch(file: string, options: BatchOptions, command: Command): Promise<void> {
  const jobs = readBatch(file);
  const resultsDir = resolve(options.results);
  const fresh = jobs.filter((job) => !succeededBefore(jobRecord(resultsDir, job), job));
  for (const job of jobs.filter((candidate) => !fresh.includes(candidate))) {
    process.stderr.write(
      `skipping: ${job.name}; ${job.command} (succeeded before: ${options.results}/${job.name}; delete it to run again)\n`,
    );
  }
  if (fresh.length === 0) {
    process.stderr.write(`batch ${file}: every job succeeded before; nothing to run\n`);
    return;
  }
  const hosts = options.hosts ? await bringUpForBatch(options, command) : [];
  if (options.hosts) options = { ...options, pool: inventoryPool(hosts, options, command) };
  const spec = batchSpec(file, fresh, options);
  const connection = connectionFromOptions(command.opts());
  const client = options.dryRun
    ? await connectClient(connection)
    : await connectRetrying(connection, () => connectClient(connection));
  try {
    const workers = await registeredWorkers(client, options.pool);
    process.stderr.write(`${describeWorkers(workers, options.pool)}\n`);
    const request = resourceRequest(spec.resources);
    process.stderr.write(`each job needs: ${describeRequest(request)}; placed where it fits when it starts\n`);
    const nowhere = options.waitForCapacity ? undefined : whyFitsNowhere(request, options.pool, workers);
    if (nowhere) {
      throw new ExitError(`batch: nothing started: every job ${nowhere} (start anyway with --wait-for-capacity)`, 2);
    }
    if (options.dryRun) {
      for (const job of fresh) process.stdout.write(`would start: ${job.name}; ${job.command}\n`);
      return;
    }
    const existing = await runningBatch(client, spec);
    const sweepId =
      existing ??
      (await startSweep(client, spec, {
        ...DEFAULT_SWEEP_OPTIONS,
        pool: options.pool,
        controlQueue: options.controlQueue,
      }));
    process.stderr.write(
      existing
        ? `batch ${file} is already running as sweep ${sweepId}: following it\n`
        : `batch ${file}: ${fresh.length} job(s) as sweep ${sweepId}\n`,
    );
    const trialsDir = options.trialsDir ?? resolve(options.dataDir, 'trials');
    await followBatch(client, sweepId, resultsDir, options, trialDirReader(trialsDir, hosts, options));
  } finally {
    await client.connection.close();
  }
}

function commandAt(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Prints `started:`, `finished:` and `failed:` as jobs move, collecting each finished job's outputs. */
async function followBatch(
  client: Client,
  sweepId: string,
  resultsDir: string,
  options: BatchOptions,
  trialDir: (row: TrialSummary) => Promise<string>,
): Promise<void> {
  const memo = await sweepMemo(client, sweepId);
  const names = memo.spec.trialNames ?? [];
  const lines =
    memo.spec.parameters[0]?.type === 'grid' && memo.spec.parameters[0].axis.kind === 'values'
      ? memo.spec.parameters[0].axis.values
      : [];
  const jobOf = (row: TrialSummary): BatchJob => ({
    name: names[row.index] ?? row.name,
    line: Number((names[row.index] ?? '').split('.').at(-1)),
    command: commandAt(lines[row.index]),
  });
  const said = new Map<number, string>();
  let running = 0;
  const interrupted = new Promise<never>((_, reject) =>
    process.once('SIGINT', () => void onInterrupt(client, sweepId, running).catch(reject)),
  );
  interrupted.catch(() => {});
  const counts = { finished: 0, failed: 0 };
  let endedAt: number | undefined;
  for (;;) {
    const status = await Promise.race([client.workflow.getHandle(sweepId).describe(), interrupted]);
    const rows = await Promise.race([trialRows(client, sweepId, { ...memo, status: status.status.name }), interrupted]);
    running = rows.filter((row) => row.state === 'running').length;
    for (const row of rows) {
      const job = jobOf(row);
      const before = said.get(row.index);
      if (row.state !== 'queued' && before === undefined) {
        process.stdout.write(`started: ${job.name}; ${job.command}\n`);
        said.set(row.index, 'running');
      }
      if (
        (row.state === 'succeeded' || row.state === 'failed' || row.state === 'cancelled') &&
        said.get(row.index) === 'running'
      ) {
        collectJob(resultsDir, job, row, await trialDir(row));
        const word = row.state === 'succeeded' ? 'finished' : row.state;
        process.stdout.write(`${word}: ${job.name}; ${job.command}\n`);
        said.set(row.index, row.state);
        if (row.state === 'succeeded') counts.finished++;
        else counts.failed++;
      }
    }
    // Visibility may lag the sweep's end by a moment: wait until every trial's outcome is listed.
    const settled = rows.every((row) => row.state !== 'queued' && row.state !== 'running');
    if (status.status.name !== 'RUNNING' && (settled || Date.now() > (endedAt ??= Date.now()) + 10_000)) break;
    await Promise.race([delay(POLL_EVERY_MS), interrupted]);
  }
  const summary = `batch: ${counts.finished} finished, ${counts.failed} failed (sweep ${sweepId}); outputs in ${options.results}/`;
  if (counts.failed > 0) throw new ExitError(`sweep: ${summary}`, 1);
  process.stderr.write(`${summary}\n`);
}

export function registerBatchCommand(program: Command): void {
  sshFlags(addConnectionOptions(addResourceOptions(program.command('batch'))))
    .argument('<file>', 'a batch file: one shell command per line (blank lines and # comments are skipped)')
    .description("run a batch file (ml-scheduler's): one job per line, with bash -c, as a durable sweep")
    .option('--dry-run', 'print the workers and what would run, and start nothing', false)
    .option('--results <dir>', "where each job's outputs go: <dir>/<job>/", 'job_results')
    .option('--pool <name>', 'the worker pool', DEFAULT_POOL)
    .option('--control-queue <name>', "queue of the workflow tasks; must match the workers'", CONTROL_QUEUE)
    .option(
      '--data-dir <dir>',
      "the workers' data directory (their trial directories hold the outputs)",
      defaultDataDir(),
    )
    .option('--trials-dir <dir>', "the workers' trial directories (default <data-dir>/trials)")
    .option('--wait-for-capacity', 'start even if no worker of the pool could hold the jobs now', false)
    .option(
      '--hosts <files...>',
      'bring up these hosts (hosts.yml), copy the project forward, run the jobs there, copy results back',
    )
    .action(runBatch);
}
