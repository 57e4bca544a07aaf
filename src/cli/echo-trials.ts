// mlframework's "echo task" check, through the whole path a real trial takes: for each live worker of the
// inventory's hosts, a one-trial sweep that names that worker (`resources.labels.worker`, which sends it to the
// worker's own queue) runs `node -e` and reports where and how fast it ran.
import type { Client } from '@temporalio/client';
import { dump } from 'js-yaml';
import { registeredWorkers } from './pool-capacity.js';
import { DEFAULT_SWEEP_OPTIONS, startSweep, sweepMemo, trialRows } from './sweep-client.js';
import { parseSpec } from '../sweep-spec/load-spec.js';
import { CONTROL_QUEUE } from '../temporal/names.js';
import type { InventoryHost } from '../hosts/inventory.js';
import { hostOfQueue } from '../hosts/remote-trials.js';

export interface EchoResult {
  readonly host: string;
  readonly worker: string;
  readonly ok: boolean;
  /** `ok (0.8 s)`, or what went wrong. */
  readonly detail: string;
}

const ECHO_TIMEOUT_MS = 60_000;

async function echoOn(client: Client, pool: string, worker: string): Promise<{ ok: boolean; detail: string }> {
  const parsed = parseSpec(
    dump({
      name: `echo-${worker}`,
      command: ['node', '-e', 'console.log("echo from " + process.env.SWEEP_WORKER)'],
      args: 'none',
      resources: { labels: { worker } },
      parameters: { echo: [1] },
    }),
    { pool },
  );
  if (!parsed.ok) throw new Error(`echo spec: ${JSON.stringify(parsed.problems)}`);
  const started = Date.now();
  const sweepId = await startSweep(client, parsed.spec, {
    ...DEFAULT_SWEEP_OPTIONS,
    window: 1,
    pool,
    controlQueue: CONTROL_QUEUE,
    maxLostAttempts: 1,
  });
  const handle = client.workflow.getHandle(sweepId);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ECHO_TIMEOUT_MS)));
  const outcome = await Promise.race([handle.result().then(() => 'done' as const), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    await handle.cancel().catch(() => undefined);
    return { ok: false, detail: `no answer within ${ECHO_TIMEOUT_MS / 1000} s (sweep ${sweepId} cancelled)` };
  }
  const [row] = await trialRows(client, sweepId, await sweepMemo(client, sweepId));
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (row?.state !== 'succeeded')
    return { ok: false, detail: `${row?.state ?? 'lost'}: ${row?.cause ?? row?.error ?? ''}` };
  return { ok: true, detail: `ok on ${row.worker ?? worker} (${seconds} s)` };
}

/** An echo trial on every live worker of the hosts' pools that belongs to one of `hosts`. */
export async function echoTrials(client: Client, hosts: readonly InventoryHost[]): Promise<EchoResult[]> {
  const targets: { host: string; pool: string; worker: string }[] = [];
  for (const pool of new Set(hosts.map((host) => host.pool))) {
    for (const { capacity } of (await registeredWorkers(client, pool)) ?? []) {
      const host = hostOfQueue(hosts, capacity.name);
      if (host && host.pool === pool) targets.push({ host: host.name, pool, worker: capacity.name });
    }
  }
  return Promise.all(
    targets.map(async (target) => ({
      host: target.host,
      worker: target.worker,
      ...(await echoOn(client, target.pool, target.worker).catch((error: unknown) => ({
        ok: false,
        detail: error instanceof Error ? error.message : String(error),
      }))),
    })),
  );
}
