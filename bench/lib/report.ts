import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatTable } from '../../src/cli/table.js';

let resultsDir = fileURLToPath(new URL('../results/', import.meta.url));

/** Where result files go (bench/results by default). */
export function setResultsDir(dir: string): void {
  resultsDir = dir;
}

/** The machine and versions every result file carries, so numbers are never read without their context. */
export function machine(): Record<string, unknown> {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const version = (command: string, args: string[]) =>
    spawnSync(command, args, { encoding: 'utf8' }).stdout?.split('\n')[0]?.trim() || undefined;
  return {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    temporalSdk: pkg.dependencies['@temporalio/worker'],
    temporalCli: '1.5.1',
    gnuParallel: version('parallel', ['--version']),
    bash: version('bash', ['--version']),
  };
}

/** Prints a titled table and writes `bench/results/<name>.json`. */
export function report(
  name: string,
  title: string,
  table: { header: string[]; rows: string[][] },
  data: Record<string, unknown>,
): void {
  process.stdout.write(`\n## ${title}\n\n${formatTable(table.header, table.rows)}\n`);
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${name}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ name, at: new Date().toISOString(), machine: machine(), ...data }, null, 2)}\n`,
  );
  process.stdout.write(`(raw samples: ${file})\n`);
}
