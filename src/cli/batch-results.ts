// A batch job's outputs under `job_results/<job>/`, as ml-scheduler kept them, and the record that lets a rerun
// skip the jobs that succeeded. Earlier results are never overwritten: they move aside to `<job>.1`, `<job>.2`, ….
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { readJsonFile } from '../host/json-file.js';
import { logFileName } from '../temporal/names.js';
import type { TrialSummary } from '../workflows/types.js';
import type { BatchJob } from './batch-file.js';

const JOB_RECORD = 'job.json';
/** What the trial directory holds for Sweep itself, not the job's own outputs. */
const BOOKKEEPING = new Set(['logs', 'metrics.jsonl', 'updates.jsonl']);

const jobRecordSchema = z.object({
  job: z.string(),
  command: z.string(),
  state: z.enum(['succeeded', 'failed', 'cancelled']),
  sweepId: z.string(),
  exitCode: z.number().optional(),
  worker: z.string().optional(),
});
export type JobRecord = z.infer<typeof jobRecordSchema>;

/** The record of the job's last collected run, if any (an unreadable one counts as none). */
export function jobRecord(resultsDir: string, job: BatchJob): JobRecord | undefined {
  return readJsonFile(join(resultsDir, job.name, JOB_RECORD), jobRecordSchema);
}

/** Whether this exact line already succeeded: a changed line is a new job, a failed one runs again. */
export function succeededBefore(record: JobRecord | undefined, job: BatchJob): boolean {
  return record?.state === 'succeeded' && record.command === job.command;
}

/** `job_results/x.sh.3` → moved to the first free `job_results/x.sh.3.N`, so nothing earlier is lost. */
function moveAside(dir: string): void {
  if (!existsSync(dir)) return;
  let n = 1;
  while (existsSync(`${dir}.${n}`)) n++;
  renameSync(dir, `${dir}.${n}`);
}

/**
 * Copies a finished job's stdout, stderr and the files it wrote in its trial directory to `job_results/<job>/`,
 * with its record. The trial directory is on this host or shared storage; where it is not (a worker on another
 * host), the record says where the outputs stayed.
 */
export function collectJob(resultsDir: string, job: BatchJob, row: TrialSummary, trialDir: string): string {
  const dir = join(resultsDir, job.name);
  moveAside(dir);
  mkdirSync(dir, { recursive: true });
  const attempt = row.attempts.at(-1)?.attempt;
  const found = existsSync(trialDir);
  if (found && attempt !== undefined) {
    for (const stream of ['stdout', 'stderr'] as const) {
      const log = join(trialDir, 'logs', logFileName(row.sweepId, attempt, stream));
      if (existsSync(log)) cpSync(log, join(dir, stream));
    }
  }
  if (found) {
    for (const entry of readdirSync(trialDir)) {
      if (!BOOKKEEPING.has(entry)) cpSync(join(trialDir, entry), join(dir, entry), { recursive: true });
    }
  }
  const record: JobRecord & Record<string, unknown> = {
    job: job.name,
    command: job.command,
    state: row.state === 'succeeded' ? 'succeeded' : row.state === 'cancelled' ? 'cancelled' : 'failed',
    sweepId: row.sweepId,
    ...(row.exitCode === undefined ? {} : { exitCode: row.exitCode }),
    ...(row.worker ? { worker: row.worker } : {}),
    line: job.line,
    ...(row.error ? { error: row.error } : {}),
    ...(found ? {} : { outputs: `not on this host: in ${trialDir} on ${row.worker ?? 'its worker'}` }),
  };
  writeFileSync(join(dir, JOB_RECORD), `${JSON.stringify(record, null, 2)}\n`);
  return dir;
}
