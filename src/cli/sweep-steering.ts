// Changes to a running sweep from the CLI or the TypeScript API: each is a Temporal Update with an ID chosen
// here, so that a change whose CLI died before it heard the answer, asked again, applies once.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { defaultDataDir } from '../server/data-dir.js';
import { changeSweepUpdate, sweepChangesQuery } from '../workflows/messages.js';
import type { SweepChange, SweepChangeRecord, SweepSettings } from '../workflows/sweep-changes.js';
import { requester } from './identity.js';
import { updateRunningSweep } from './sweep-update.js';

/** A change sent and not yet answered, by sweep and change: asked again, it reuses its ID. */
const pendingSchema = z.record(z.string(), z.object({ id: z.string(), at: z.number() }));
/** A pending change older than this is a new one when asked again. */
const PENDING_FOR_MS = 24 * 3600 * 1000;

function pendingFile(dataDir: string): string {
  return join(dataDir, 'pending-changes.json');
}

function readPending(file: string): z.infer<typeof pendingSchema> {
  if (!existsSync(file)) return {};
  try {
    const parsed = pendingSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

function writePending(file: string, pending: z.infer<typeof pendingSchema>): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(pending));
  renameSync(`${file}.tmp`, file);
}

export interface ChangeOptions {
  readonly by?: string;
  /** Where pending change IDs are kept (default ~/.local/share/sweep). */
  readonly dataDir?: string;
}

/**
 * Applies `change` to a running sweep and returns its record. Refused (invalid now, or the sweep has ended):
 * a ConfigError saying why, and nothing changed.
 */
export async function changeSweep(
  client: Client,
  sweepId: string,
  change: SweepChange,
  options: ChangeOptions = {},
): Promise<SweepChangeRecord> {
  const file = pendingFile(options.dataDir ?? defaultDataDir());
  const key = `${sweepId} ${JSON.stringify(change)}`;
  const pending = readPending(file);
  const earlier = pending[key];
  const id = earlier && Date.now() - earlier.at < PENDING_FOR_MS ? earlier.id : randomUUID();
  writePending(file, { ...pending, [key]: { id, at: earlier?.at ?? Date.now() } });
  return updateRunningSweep(
    client,
    sweepId,
    changeSweepUpdate,
    { id, by: options.by ?? requester(), change },
    {
      updateId: id,
      whenEnded: 'there is nothing left to change',
      refused: `${sweepId}: change refused`,
      // Heard back: asked again, the same change is a new one.
      answered: () => {
        const { [key]: _done, ...rest } = readPending(file);
        writePending(file, rest);
      },
    },
  );
}

export function sweepChanges(
  client: Client,
  sweepId: string,
): Promise<{ settings: SweepSettings; changes: SweepChangeRecord[] }> {
  return client.workflow.getHandle(sweepId).query(sweepChangesQuery);
}
