// ml-scheduler's batch files: one job per non-blank, non-comment line, run with `bash -c` (the user wrote shell
// on purpose), named `<path with / as _>.<line number>` as ml-scheduler named them. Pure.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';

export interface BatchJob {
  /** `example_batch_script.sh.3` */
  readonly name: string;
  /** The line's number in the file, from 1. */
  readonly line: number;
  readonly command: string;
}

/** `example/batch_script.sh` → `example_batch_script.sh`: the path as given, `/` replaced, as ml-scheduler did. */
export function batchPrefix(path: string): string {
  return path.replace(/^\.\//, '').replaceAll('/', '_');
}

export function parseBatch(path: string, text: string): BatchJob[] {
  const prefix = batchPrefix(path);
  const jobs: BatchJob[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const command = raw.trim();
    if (command === '' || command.startsWith('#')) return;
    jobs.push({ name: `${prefix}.${index + 1}`, line: index + 1, command });
  });
  return jobs;
}

export function readBatch(path: string): BatchJob[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([`${path}: cannot read the batch file: ${(error as Error).message}`]);
  }
  const jobs = parseBatch(path, text);
  if (jobs.length === 0) throw new ConfigError([`${path}: no jobs: every line is blank or a # comment`]);
  return jobs;
}
