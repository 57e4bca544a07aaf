import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type ActivitySlotInfo,
  type CustomSlotSupplier,
} from '@temporalio/worker';
import { createTrialActivities } from '../activities/run-trial.js';
import { ServerWatch } from '../activities/server-watch.js';
import { TrialRegistry } from '../activities/trial-registry.js';
import { connectRetrying, OutageReporter } from '../temporal/connect-retrying.js';
import { connectClient, connectionOptions, type ConnectionConfig } from '../temporal/connection-config.js';
import { attemptStartedSignal, claimStartUpdate, updatesSinceQuery } from '../workflows/messages.js';
import { reportLeftAttempts, type TakeoverReport } from './queue-takeover.js';
import {
  classQueue,
  shapeQueue,
  gateHoldsAtCheckpoint,
  isGateMemo,
  SWEEP_GATE_MEMO,
  UPDATE_VERSION_MEMO,
  workerClassLabel,
  workerIdentity,
  workerQueue,
} from '../temporal/names.js';
import type { WorkerClassHost } from '../worker-class/class-process.js';
import { SweepUpdates } from '../activities/sweep-updates.js';
import type { TrialShape } from '../workflows/resource-request.js';
import type { GpuMonitor } from './gpu-monitor.js';
import { monitorMeasurements } from './monitor-measurements.js';
import type { OwnedGpu, WorkerCapacity } from './placement-fit.js';
import { Placer } from './placer.js';
import { capacityQueueName } from './published-capacity.js';
import { TaskPermits } from './task-permits.js';
import { workflowCode } from './workflow-bundle.js';

export interface TrialWorkerOptions {
  readonly connection: ConnectionConfig;
  /** This worker's name, e.g. `hostB-gpu1` or `hostB`: its identity, and the key of its state. */
  readonly name: string;
  /** The GPUs it owns (each locked to it); none for a CPU worker. */
  readonly gpus: readonly OwnedGpu[];
  /** Trials that ask for no particular hardware, per GPU (several small trials may share one GPU). */
  readonly slotsPerGpu: number;
  /** Trials with no GPU at once (`gpus: 0`; on a machine without GPUs, every trial). */
  readonly cpuSlots: number;
  /** It owns every GPU of its host, so `reserve: host` trials may run on it. */
  readonly ownsHost: boolean;
  readonly labels: Readonly<Record<string, string>>;
  /** Measures the host's GPUs, RAM and load continuously; started, with its first snapshot taken. */
  readonly monitor: GpuMonitor;
  /** Hold the next trial ready behind each running one, so a slot that frees starts it at once. */
  readonly prefetch: boolean;
  readonly pool: string;
  readonly controlQueue: string;
  readonly trialsDir: string;
  readonly projectDir?: string;
  /** Where the worker records its trials' process groups, to clean up after a crashed predecessor. */
  readonly stateDir: string;
  readonly killGraceMs: number;
  /** Also run sweep and trial workflow tasks (light; any worker may, so there is no head node). */
  readonly runWorkflows: boolean;
  readonly verbose: boolean;
  /** A `--python module:Class` worker's class process: it polls its class's queue instead of the shapes'. */
  readonly workerClass?: WorkerClassHost;
  readonly onReady?: (line: string) => void;
}

/** The SDK's logger, minus the warnings our split of workflows and activities onto two workers always causes. */
function workerLogger(verbose: boolean): DefaultLogger {
  // The first: our split of workflows and activities onto two workers. The second: core retrying a poll during
  // an outage, once a second per poller; the worker says once that the server is not answering instead.
  const expected = /^No (workflows|activities) registered|^gRPC call \w+ retried \d+ times/;
  return new DefaultLogger(verbose ? 'INFO' : 'WARN', (entry) => {
    if (expected.test(entry.message)) return;
    process.stderr.write(
      `${new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString()} [${entry.level}] ${entry.message}\n`,
    );
  });
}

/** `; took over from a dead worker: 1 finished trial reported, 1 lost` (nothing when there was nothing). */
function describeTakeover(killed: number, reports: readonly TakeoverReport[]): string {
  if (reports.length === 0 && killed === 0) return '';
  const count = (what: TakeoverReport) => reports.filter((report) => report === what).length;
  const parts = [
    killed ? `killed ${killed} leftover trial process group(s)` : '',
    count('reported-outcome') ? `reported ${count('reported-outcome')} finished trial(s)` : '',
    count('reported-lost') ? `reported ${count('reported-lost')} lost trial(s)` : '',
    count('already-closed') ? `${count('already-closed')} already rescheduled` : '',
  ].filter(Boolean);
  return `; took over from a worker that died: ${parts.join(', ')}`;
}

/** The queues of the shapes this worker could ever hold: it never polls for a trial too large for it. */
function shapesPolled(capacity: WorkerCapacity): TrialShape[] {
  return [
    'any',
    ...(capacity.cpuSlots > 0 ? (['cpu'] as const) : []),
    ...capacity.gpus.map((_, i): TrialShape => `gpus-${i + 1}`),
    ...(capacity.ownsHost ? (['host'] as const) : []),
  ];
}

/** How often core tells the server which workers live (ListWorkers): what `sweep workers` and `start` read. */
const WORKER_HEARTBEAT_INTERVAL = '5s';

/** The capacity worker's permits: none, ever. It is there to be heartbeated, not to poll. */
const NO_PERMITS: CustomSlotSupplier<ActivitySlotInfo> = {
  type: 'custom',
  reserveSlot: (_context, abortSignal) =>
    new Promise((_resolve, reject) =>
      // The SDK expects its own abort reason back, whatever it is.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      abortSignal.addEventListener('abort', () => reject(abortSignal.reason)),
    ),
  tryReserveSlot: () => null,
  markSlotUsed: () => {},
  releaseSlot: () => {},
};

/** `2 GPU(s) (CUDA_VISIBLE_DEVICES 0,1), 1 slot(s) each, 2 CPU slot(s)`, or `CPU only, 4 slot(s)`. */
function describeCapacity(capacity: WorkerCapacity): string {
  const gpus = capacity.gpus.length
    ? `${capacity.gpus.length} GPU(s) (CUDA_VISIBLE_DEVICES ${capacity.gpus.map((gpu) => gpu.device).join(',')}), ${capacity.slotsPerGpu} slot(s) each`
    : 'CPU only';
  const cpu = capacity.cpuSlots > 0 ? `, ${capacity.cpuSlots} ${capacity.gpus.length ? 'CPU ' : ''}slot(s)` : '';
  return `${gpus}${cpu}`;
}

/**
 * One worker process: owns some GPUs (or CPU slots) of its host and polls one queue per shape of trial it could
 * hold, each only while it has room (a busy GPU simply does not ask), and a worker that dies stops asking.
 */
export async function runTrialWorker(options: TrialWorkerOptions): Promise<void> {
  // SIGINT/SIGTERM shut the workers down gracefully: running trials are stopped and handed back at once.
  Runtime.install({
    logger: workerLogger(options.verbose),
    // Core's own lines go through the logger above (by default core writes to stderr itself).
    telemetryOptions: { logging: { forward: {}, filter: { core: 'WARN', other: options.verbose ? 'INFO' : 'WARN' } } },
    workerHeartbeatInterval: WORKER_HEARTBEAT_INTERVAL,
  });
  // The caller holds this queue's lock, so whatever the registry lists belongs to a dead predecessor: its
  // processes are killed now, before anything waits for the server.
  const registry = new TrialRegistry(join(options.stateDir, options.name));
  const left = registry.takeOver();
  // A server that is down or not up yet is waited for, with one line (a worker under systemd must not exit).
  const connection = await connectRetrying(options.connection, () =>
    NativeConnection.connect(connectionOptions(options.connection)),
  );
  // A running worker says once that the server stopped answering, and once that it answers again.
  const serverWatch = new ServerWatch(connection, 1000, new OutageReporter(options.connection.address));
  serverWatch.start();
  // A plain client for queries to sweeps (cache updates), beside the workers' native connection.
  const client = await connectRetrying(options.connection, () => connectClient(options.connection));
  const identity = workerIdentity(options.name, process.pid);
  const takenOver = await reportLeftAttempts(client, left, identity);
  const workerClass = options.workerClass && { ref: options.workerClass.ref, version: options.workerClass.version };
  const capacity: WorkerCapacity = {
    name: options.name,
    gpus: options.gpus,
    slotsPerGpu: options.slotsPerGpu,
    cpuSlots: options.cpuSlots,
    cores: availableParallelism(),
    memoryTotalMib: (options.monitor.snapshot?.host.memoryTotalBytes ?? 0) / (1024 * 1024),
    ownsHost: options.ownsHost,
    // Every worker answers to its own name: a trial may ask for exactly it (and is sent to its own queue).
    labels: {
      ...options.labels,
      worker: options.name,
      ...(workerClass ? { worker_class: workerClassLabel(workerClass) } : {}),
    },
  };
  const placer = new Placer(capacity, monitorMeasurements(options.monitor));
  options.monitor.onChange(() => placer.measurementsChanged());
  const shapes = shapesPolled(capacity);
  const permits = new Map(
    shapes.map((shape) => [
      shape,
      new TaskPermits({ free: () => placer.freeFor(shape), used: () => placer.usedBy(shape) }, options.prefetch),
    ]),
  );
  // Trials sent to this worker by name ask for no particular hardware, so they take the `any` shape's room.
  const ownQueuePermits = new TaskPermits(
    { free: () => placer.freeFor('any'), used: () => placer.usedBy('any') },
    false,
  );
  placer.onChange(() => {
    for (const permit of [...permits.values(), ownQueuePermits]) permit.wake();
  });
  const activities = createTrialActivities({
    placer,
    ...(options.workerClass ? { workerClass: options.workerClass } : {}),
    permits: (shape) => {
      const permit = permits.get(shape);
      if (!permit) throw new Error(`worker ${options.name} got a trial of shape ${shape} that it does not poll for`);
      return permit;
    },
    workerName: options.name,
    host: hostname(),
    trialsDir: options.trialsDir,
    ...(options.projectDir ? { projectDir: options.projectDir } : {}),
    killGraceMs: options.killGraceMs,
    heartbeatEveryMs: 1000,
    serverWatch,
    registry,
    claimStart: (sweepId, index) =>
      client.connection.withDeadline(Date.now() + 10_000, () =>
        client.workflow.getHandle(sweepId).executeUpdate(claimStartUpdate, { args: [{ index }] }),
      ),
    announceStart: (trialId, runId, started) => {
      client.workflow
        .getHandle(trialId, runId)
        .signal(attemptStartedSignal, started)
        .catch(() => {
          // Only the Web UI's state depends on it; the trial runs either way.
        });
    },
    // Running trials of a sweep share one check every half second.
    updates: new SweepUpdates(
      {
        latest: async (sweepId) => {
          const { memo } = await client.connection.withDeadline(Date.now() + 5000, () =>
            client.workflow.getHandle(sweepId).describe(),
          );
          const version = memo?.[UPDATE_VERSION_MEMO];
          return {
            version: typeof version === 'number' ? version : 0,
            gateUp: isGateMemo(memo?.[SWEEP_GATE_MEMO]),
            holdAtCheckpoint: gateHoldsAtCheckpoint(memo?.[SWEEP_GATE_MEMO]),
          };
        },
        updatesSince: (sweepId, since) =>
          client.connection.withDeadline(Date.now() + 5000, () =>
            client.workflow.getHandle(sweepId).query(updatesSinceQuery, since),
          ),
      },
      500,
    ),
  });

  /** A Temporal worker for trials on one queue, polling as its permits allow. */
  const trialQueueWorker = (taskQueue: string, permit: CustomSlotSupplier<ActivitySlotInfo>) =>
    Worker.create({
      connection,
      namespace: options.connection.namespace,
      taskQueue,
      identity,
      activities,
      tuner: {
        activityTaskSlotSupplier: permit,
        workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
        localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
        nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
      },
      // Heartbeats reach the server at least every second, which the self-fencing margin relies on.
      maxHeartbeatThrottleInterval: '1s',
      defaultHeartbeatThrottleInterval: '1s',
      shutdownForceTime: options.killGraceMs + 10_000,
    });
  const anyPermits = permits.get('any');
  const workers = await Promise.all([
    // A class worker takes only its class's trials, one at a time, from the queue of that class and version.
    ...(workerClass && anyPermits
      ? [trialQueueWorker(classQueue(options.pool, workerClass), anyPermits)]
      : [...permits].map(([shape, permit]) => trialQueueWorker(shapeQueue(options.pool, shape), permit))),
    trialQueueWorker(workerQueue(options.pool, options.name), ownQueuePermits),
    // What this worker owns, for `sweep start` and `sweep workers` to read from its heartbeats.
    trialQueueWorker(capacityQueueName(options.pool, capacity), NO_PERMITS),
  ]);
  if (options.runWorkflows) {
    workers.push(
      await Worker.create({
        connection,
        namespace: options.connection.namespace,
        taskQueue: options.controlQueue,
        identity,
        ...workflowCode(),
        // A sweep cached on a worker that died moves to another worker after this, not the default 10 s: sticky tasks only wait on a dead worker.
        stickyQueueScheduleToStartTimeout: '1s',
      }),
    );
  }
  const running = Promise.all(workers.map((worker) => worker.run()));
  options.onReady?.(
    `worker ${options.name} ready: ${describeCapacity(capacity)}, pool ${options.pool}, ` +
      (workerClass ? `class ${workerClassLabel(workerClass)} (${options.workerClass?.file}), ` : '') +
      `server ${options.connection.address}${describeTakeover(left.filter((entry) => entry.wasAlive).length, takenOver)}`,
  );
  // Stopped while the server is down, the SDK would wait for polls that never end. Its trials are stopped first
  // (SIGTERM, then SIGKILL after the grace), so after that and a margin the worker exits regardless.
  const bounded = () => {
    setTimeout(() => {
      process.stderr.write(`sweep: worker ${options.name} could not stop cleanly (is the server down?); exiting\n`);
      process.exit(1);
    }, options.killGraceMs + 15_000).unref();
  };
  process.once('SIGTERM', bounded).once('SIGINT', bounded);
  try {
    await running;
  } finally {
    serverWatch.stop();
    await options.workerClass?.close();
    await options.monitor.stop();
    await client.connection.close();
    await connection.close();
  }
}
