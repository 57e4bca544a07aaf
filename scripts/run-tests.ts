// `npm test`: builds the CLI, starts one real Temporal dev server for the whole run, and runs every
// test file under node's test runner against it. Pass files or folders to run a subset.
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { startDevServer } from '../src/server/dev-server.js';
import { resolveTemporalBinary } from '../src/server/temporal-binary.js';
import { freePort } from '../test/helpers/free-port.js';
import { buildProject } from './build-project.js';
import { ensureSystemPackages } from './system-packages.js';

function testFiles(paths: readonly string[]): string[] {
  return paths.flatMap((path) => {
    if (!statSync(path).isDirectory()) return [path];
    return readdirSync(path, { recursive: true, encoding: 'utf8' })
      .filter((name) => name.endsWith('.test.ts'))
      .map((name) => join(path, name));
  });
}

const files = testFiles(process.argv.length > 2 ? process.argv.slice(2) : ['test']).sort();
buildProject();
ensureSystemPackages();

const binary = await resolveTemporalBinary();
const dataDir = mkdtempSync(join(tmpdir(), 'sweep-test-server-'));
const server = await startDevServer({
  binary: binary.path,
  ip: '127.0.0.1',
  port: await freePort(),
  dbFile: join(dataDir, 'temporal.db'),
  logFile: join(dataDir, 'temporal.log'),
});
process.stderr.write(
  `Test server ${server.address} (Temporal CLI ${binary.version}, ${binary.source}); ${files.length} files\n`,
);

/**
 * Files that measure time against the trial processes' own clocks (idle gaps within 50 ms) run after the others,
 * one at a time: on a 2-core machine, a second test file's processes delay a trial's own start by more than
 * what is measured. They say so with this marker in their first lines.
 */
const RUN_ALONE = '@run-alone';
const alone = files.filter((file) => readFileSync(file, 'utf8').slice(0, 2000).includes(RUN_ALONE));
const together = files.filter((file) => !alone.includes(file));

// Integration tests wait on real processes; a second file per core keeps both cores busy while one waits.
const concurrency = Math.max(2, availableParallelism());
let current: ChildProcess | undefined;
const forward = (signal: NodeJS.Signals) => current?.kill(signal);
process.on('SIGINT', forward).on('SIGTERM', forward);

function runFiles(batch: readonly string[], filesAtOnce: number): Promise<number> {
  if (batch.length === 0) return Promise.resolve(0);
  current = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${filesAtOnce}`, ...batch.map((file) => relative('.', file))],
    {
      stdio: 'inherit',
      env: { ...process.env, SWEEP_TEST_TEMPORAL_ADDRESS: server.address, SWEEP_TEMPORAL_BIN: binary.path },
    },
  );
  const runner = current;
  return new Promise<number>((resolve) => runner.once('close', (status) => resolve(status ?? 1)));
}

const codes = [await runFiles(together, concurrency)];
if (alone.length > 0) {
  process.stderr.write(`== ${alone.length} file(s) that measure time, one at a time: ${alone.join(', ')}\n`);
  codes.push(await runFiles(alone, 1));
}
const code = codes.find((each) => each !== 0) ?? 0;
await server.stop();
rmSync(dataDir, { recursive: true, force: true });
process.exitCode = code;
