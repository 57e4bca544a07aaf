// `sweep batch` on a batch file like ml-scheduler's example, against real workers: its progress lines, the
// outputs under job_results/, and a rerun that skips exactly the jobs that succeeded.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TestCluster } from '../helpers/cluster.js';
import { runSweep, startSweep } from '../helpers/processes.js';
import { sharedServerConfig, tempDir } from '../helpers/temporal.js';

let cluster: TestCluster;
before(async () => {
  cluster = new TestCluster(sharedServerConfig().address);
  await cluster.startWorker('batch-worker', 2);
  await cluster.waitUntilListed('batch-worker');
});
after(() => cluster.stop());

const BATCH = [
  'echo "one job"',
  '# a comment, and a blank line, are not jobs',
  '',
  'echo "jobs will tell you if they fail" && exit 1',
  'echo "another job" && echo "a combined job (bash syntax applies)"',
  'bash example/local.sh && echo "you can also call local files"',
];

/** A project folder with the batch file and the local script it calls, as ml-scheduler's example has. */
function project(): string {
  const dir = tempDir('batch-project');
  mkdirSync(join(dir, 'example'));
  writeFileSync(join(dir, 'example', 'batch_script.sh'), `${BATCH.join('\n')}\n`);
  writeFileSync(join(dir, 'example', 'local.sh'), 'echo "from local.sh"\necho 42 > "$SWEEP_TRIAL_DIR/answer.txt"\n');
  return dir;
}

function batch(dir: string, extra: readonly string[] = []) {
  const args = ['batch', 'example/batch_script.sh', '--pool', cluster.pool, '--control-queue', cluster.controlQueue];
  return runSweep([...args, '--data-dir', cluster.dir, ...extra], {
    cwd: dir,
    env: { ...process.env, TEMPORAL_ADDRESS: cluster.address },
  });
}

const job = (line: number) => `example_batch_script.sh.${line}`;
const results = (dir: string, ...path: string[]) => join(dir, 'job_results', ...path);

test('a batch file runs one job per line, says what started, finished and failed, and keeps each job’s outputs', async () => {
  const dir = project();
  const dry = await batch(dir, ['--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stderr, /^workers: batch-worker: 2 CPU slot\(s\)$/m);
  assert.deepEqual(dry.stdout.trim().split('\n'), [
    `would start: ${job(1)}; echo "one job"`,
    `would start: ${job(4)}; ${BATCH[3]}`,
    `would start: ${job(5)}; ${BATCH[4]}`,
    `would start: ${job(6)}; ${BATCH[5]}`,
  ]);
  assert.equal(existsSync(results(dir)), false, 'a dry run starts nothing');

  const first = await batch(dir);
  assert.equal(first.code, 1, `one job failed:\n${first.stdout}\n${first.stderr}`);
  const lines = first.stdout.trim().split('\n');
  for (const [line, word] of [
    [1, 'finished'],
    [4, 'failed'],
    [5, 'finished'],
    [6, 'finished'],
  ] as const) {
    const command = BATCH[line - 1];
    const started = lines.indexOf(`started: ${job(line)}; ${command}`);
    const ended = lines.indexOf(`${word}: ${job(line)}; ${command}`);
    assert.ok(started >= 0 && ended > started, `started then ${word}: ${job(line)}\n${first.stdout}`);
  }
  assert.match(first.stderr, /batch: 3 finished, 1 failed \(sweep (\S+)\)/);

  assert.equal(readFileSync(results(dir, job(1), 'stdout'), 'utf8'), 'one job\n');
  assert.equal(
    readFileSync(results(dir, job(5), 'stdout'), 'utf8'),
    'another job\na combined job (bash syntax applies)\n',
  );
  assert.match(readFileSync(results(dir, job(6), 'stdout'), 'utf8'), /from local.sh\nyou can also call local files/);
  assert.equal(readFileSync(results(dir, job(6), 'answer.txt'), 'utf8'), '42\n', 'the files a job wrote come back');
  const failed = JSON.parse(readFileSync(results(dir, job(4), 'job.json'), 'utf8')) as {
    state: string;
    exitCode: number;
  };
  assert.deepEqual([failed.state, failed.exitCode], ['failed', 1]);

  // Under the hood it is a sweep, with the jobs' names.
  const sweepId = /\(sweep (\S+)\)/.exec(first.stderr)?.[1] ?? '';
  const table = await cluster.sweep(['results', sweepId]);
  assert.match(table.stdout, new RegExp(`${job(4).replaceAll('.', '\\.')}\\s.*failed`));

  // Again: the succeeded jobs are skipped, the failed one runs again, and its first results are kept.
  const second = await batch(dir);
  assert.equal(second.code, 1);
  for (const line of [1, 5, 6])
    assert.match(second.stderr, new RegExp(`skipping: ${job(line).replaceAll('.', '\\.')};`));
  assert.deepEqual(second.stdout.trim().split('\n'), [
    `started: ${job(4)}; ${BATCH[3]}`,
    `failed: ${job(4)}; ${BATCH[3]}`,
  ]);
  assert.ok(existsSync(results(dir, `${job(4)}.1`, 'job.json')), 'the earlier results moved aside, not overwritten');

  // A changed line is a new job.
  writeFileSync(join(dir, 'example', 'batch_script.sh'), `${['echo "changed"', ...BATCH.slice(1)].join('\n')}\n`);
  const third = await batch(dir);
  assert.match(third.stdout, new RegExp(`finished: ${job(1).replaceAll('.', '\\.')}; echo "changed"`));
  assert.equal(readFileSync(results(dir, job(1), 'stdout'), 'utf8'), 'changed\n');
  assert.equal(readFileSync(results(dir, `${job(1)}.1`, 'stdout'), 'utf8'), 'one job\n');
});

test('Ctrl-C leaves the jobs running, durably, and says how to follow or cancel them', async () => {
  const dir = tempDir('batch-interrupt');
  writeFileSync(join(dir, 'long.sh'), 'sleep 30\n');
  const run = startSweep(
    ['batch', 'long.sh', '--pool', cluster.pool, '--control-queue', cluster.controlQueue, '--data-dir', cluster.dir],
    { cwd: dir, env: { ...process.env, TEMPORAL_ADDRESS: cluster.address } },
  );
  await run.waitForOutput(/^started: long\.sh\.1; sleep 30$/m);
  const sweepId = /as sweep (\S+)/.exec(run.stderr)?.[1] ?? '';
  const exit = await run.signal('SIGINT');
  assert.equal(exit.code, 130);
  assert.match(run.stderr, new RegExp(`keep running as sweep ${sweepId}: follow them with \`sweep watch ${sweepId}\``));
  const status = await cluster.sweep(['status', sweepId]);
  assert.match(status.stdout, /1 running/);
  assert.equal((await cluster.sweep(['cancel', sweepId])).code, 0);
});
