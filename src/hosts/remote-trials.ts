// Where each trial of a sweep ran, from Temporal (the trial workflow's GpuQueue names the worker of its last
// attempt; `sweep hosts up` names workers `<host>-gpu<N>` and `<host>-cpu`), and its directory copied back
// from that host. The inventory `up` last used is remembered, so `sweep fetch` and `sweep logs` need no flags.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { z } from 'zod';
import { gpuQueueKey, sweepIdKey, trialIndexKey } from '../temporal/search-attributes.js';
import type { InventoryHost } from './inventory.js';
import { unpackArchive } from './remote/host-agent.js';
import { packInto } from './remote-agent.js';
import type { SshSession } from './ssh-session.js';
import { PassThrough } from 'node:stream';

export interface TrialWhere {
  readonly index: number;
  /** The worker of its last attempt; undefined for a trial that never started. */
  readonly queue?: string;
}

/** The worker of a trial workflow's last attempt (its GpuQueue search attribute); undefined before it starts. */
export function trialQueueOf(execution: Pick<WorkflowExecutionInfo, 'searchAttributes'>): string | undefined {
  const queue = execution.searchAttributes[gpuQueueKey.name]?.[0];
  return typeof queue === 'string' ? queue : undefined;
}

/** Every trial of the sweep that has started, with the worker of its last attempt. */
export async function trialQueues(client: Client, sweepId: string): Promise<TrialWhere[]> {
  const found: TrialWhere[] = [];
  for await (const execution of client.workflow.list({ query: `${sweepIdKey.name} = "${sweepId}"` })) {
    const index = execution.searchAttributes[trialIndexKey.name]?.[0];
    if (typeof index !== 'number') continue;
    const queue = trialQueueOf(execution);
    found.push({ index, ...(queue === undefined ? {} : { queue }) });
  }
  return found.sort((a, b) => a.index - b.index);
}

/** The inventory host whose workers include `queue` (the longest name wins: `gpu-1` over `gpu`). */
export function hostOfQueue(hosts: readonly InventoryHost[], queue: string): InventoryHost | undefined {
  return [...hosts]
    .sort((a, b) => b.name.length - a.name.length)
    .find((host) => queue === `${host.name}-cpu` || new RegExp(`^${escape(host.name)}-gpu\\d+$`).test(queue));
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A trial's directory on a host brought up by `sweep hosts up` (see bring-up.ts). */
export function remoteTrialDir(host: InventoryHost, directorySweepId: string, trialName: string): string {
  return posix.join(host.remoteDir, '.sweep', 'trials', directorySweepId, trialName);
}

/** Copies `files` (null: all) of a remote directory into `into`; files already there are kept. */
export async function copyBack(
  session: SshSession,
  host: InventoryHost,
  remoteDir: string,
  files: readonly string[] | null,
  into: string,
): Promise<{ written: number; skipped: number }> {
  mkdirSync(into, { recursive: true });
  const stream = new PassThrough();
  const unpacked = unpackArchive(stream, into, { noOverwrite: true });
  // Both halves at once: the archive streams through without being held whole.
  const [counts] = await Promise.all([
    unpacked,
    packInto(session, host.node, { dir: remoteDir, paths: files }, stream),
  ]);
  return counts;
}

const rememberedSchema = z.object({ files: z.array(z.string()).min(1), knownHosts: z.string() });
export type RememberedInventory = z.infer<typeof rememberedSchema>;

function rememberedPath(dataDir: string): string {
  return join(dataDir, 'hosts-inventory.json');
}

/** Records the inventory (absolute paths) and known_hosts `up` used. */
export function rememberInventory(dataDir: string, files: readonly string[], knownHosts: string): void {
  const path = rememberedPath(dataDir);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify({ files: files.map((file) => resolve(file)), knownHosts }, null, 2)}\n`);
}

export function rememberedInventory(dataDir: string): RememberedInventory | undefined {
  try {
    return rememberedSchema.parse(JSON.parse(readFileSync(rememberedPath(dataDir), 'utf8')));
  } catch {
    return undefined;
  }
}
