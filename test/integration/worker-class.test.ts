// distributed_computing's worker classes as Sweep runs them: one persistent Python process per GPU, `__init__`
// once, `run(**params)` per trial, `handle_update` while a trial runs, None as a result, an exception as a failure
// with its traceback, a killed or hung process started again, and trials only for the class at their version.
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { TestCluster } from '../helpers/cluster.js';
import { FakeGpus, fakeGpu } from '../helpers/fake-gpus.js';
import { runSweep, startProcess } from '../helpers/processes.js';
import { Pool } from '../../src/pool/pool.js';
import { PYTHON_DIR } from '../../src/activities/trial-env.js';
import { sharedServerConfig, tempDir, uniqueName } from '../helpers/temporal.js';
import { until } from '../helpers/until.js';
import type { TrialSummary } from '../../src/workflows/types.js';

const TRAINER = fileURLToPath(new URL('../fixtures/worker-class/trainer.py', import.meta.url));

interface ClassRecord {
  readonly event: 'init' | 'run' | 'update';
  readonly pid: number;
  readonly devices?: string;
  readonly x?: number;
  readonly mode?: string;
  readonly attempt?: number;
  readonly trial?: string;
  readonly data?: unknown;
}

let gpus: FakeGpus;
let cluster: TestCluster;
const project = tempDir('class-project');
const recordsFile = join(project, 'records.jsonl');

function records(): ClassRecord[] {
  if (!existsSync(recordsFile)) return [];
  return readFileSync(recordsFile, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ClassRecord);
}

/** Starts a worker-class sweep from `dir` (its class file there decides the version); returns its ID. */
async function startClassSweep(body: string, dir = project): Promise<string> {
  const file = join(dir, `${uniqueName('spec')}.yml`);
  writeFileSync(file, `worker_class: trainer:Trainer\n${body}`);
  const started = await runSweep(
    ['start', file, '--pool', cluster.pool, '--control-queue', cluster.controlQueue, '--wait-for-capacity'],
    { cwd: dir, env: { ...process.env, TEMPORAL_ADDRESS: cluster.address } },
  );
  assert.equal(started.code, 0, started.stderr);
  return started.stdout.trim();
}

async function rows(sweepId: string): Promise<TrialSummary[]> {
  const result = await cluster.sweep(['results', sweepId, '--format', 'json']);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as TrialSummary);
}

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

function finishedRows(sweepId: string): Promise<TrialSummary[]> {
  return until(`sweep ${sweepId} to finish`, async () => {
    const all = await rows(sweepId);
    return all.length > 0 && all.every((row) => FINISHED.has(row.state)) ? all : undefined;
  });
}

function classWorker(name: string, flags: readonly string[], dir = project) {
  return cluster.startWorkerWith(
    name,
    [...flags, '--queue', name, '--python', 'trainer:Trainer', '--init', join(dir, 'init.json'), '--project-dir', dir],
    { env: { ...gpus.env, RECORDS: recordsFile } },
  );
}

before(async () => {
  gpus = new FakeGpus({ gpus: [fakeGpu(0), fakeGpu(1)] });
  cluster = new TestCluster(sharedServerConfig().address);
  copyFileSync(TRAINER, join(project, 'trainer.py'));
  writeFileSync(join(project, 'init.json'), JSON.stringify({ init_seconds: 1, offset: 100 }));
  await Promise.all([classWorker('wc-gpu0', ['--gpu', '0']), classWorker('wc-gpu1', ['--gpu', '1'])]);
});

after(async () => {
  await cluster.stop();
});

test('ten trials run on two GPU workers with one __init__ each, every result returned', async () => {
  const sweepId = await startClassSweep('parameters:\n  x: {range: [0, 10]}\n');
  const done = await finishedRows(sweepId);
  assert.equal(done.length, 10);
  for (const row of done) {
    assert.equal(row.state, 'succeeded', JSON.stringify(row));
    const x = row.params.x as number;
    assert.deepEqual((row.value as { score: number }).score, x * 2 + 100);
    assert.equal(row.metrics.score, x * 2 + 100);
  }
  const inits = records().filter((record) => record.event === 'init');
  assert.equal(inits.length, 2, JSON.stringify(inits));
  assert.deepEqual(inits.map((init) => init.devices).sort(), ['0', '1']);
  const runPids = new Set(
    records()
      .filter((record) => record.event === 'run')
      .map((record) => record.pid),
  );
  assert.deepEqual([...runPids].sort(), inits.map((init) => init.pid).sort());
});

test('a None result is stored as a result; an exception fails the trial with its traceback', async () => {
  const sweepId = await startClassSweep('trials:\n  - {x: 1, mode: none}\n  - {x: 2, mode: raise}\n');
  const [none, raised] = await finishedRows(sweepId);
  assert.equal(none?.state, 'succeeded');
  assert.ok(none && 'value' in none && none.value === null, JSON.stringify(none));
  assert.equal(raised?.state, 'failed');
  assert.equal(raised.cause, 'ValueError: x=2 is not allowed');
  // `sweep wait`'s plain lines: each trial once, as it finished, with what run() returned; exit 1 for the failure.
  const waited = await cluster.sweep(['wait', sweepId]);
  assert.equal(waited.code, 1, waited.stderr);
  assert.equal(waited.stderr, `sweep: sweep ${sweepId}: 1 of 2 trial(s) did not succeed\n`);
  assert.deepEqual(waited.stdout.split('\n').sort(), [
    '',
    't000_x=1_mode=none: succeeded, returned null',
    't001_x=2_mode=raise: failed: ValueError: x=2 is not allowed',
  ]);
  const stderr = await cluster.sweep(['logs', sweepId, '1', '--stderr', '--data-dir', cluster.dir]);
  assert.match(stderr.stdout, /Traceback \(most recent call last\)[\s\S]*in run[\s\S]*ValueError/);
});

test('handle_update is called while run() goes on', async () => {
  const sweepId = await startClassSweep('trials:\n  - {x: 1, mode: wait-update}\n');
  await until('run() to start', () => records().find((record) => record.mode === 'wait-update'));
  const sent = await cluster.sweep(['signal', 'update', sweepId, 'lr=0.5']);
  assert.equal(sent.code, 0, sent.stderr);
  const [row] = await finishedRows(sweepId);
  assert.equal(row?.state, 'succeeded', JSON.stringify(row));
  assert.deepEqual(row.value, { got: { lr: 0.5 } });
});

test('a class process killed mid-trial is started again and the trial completes once', async () => {
  const sweepId = await startClassSweep('trials:\n  - {x: 3, mode: killed-once}\n');
  const running = await until('the first attempt to run', () =>
    records().find((record) => record.mode === 'killed-once' && record.attempt === 1),
  );
  const initsBefore = records().filter((record) => record.event === 'init').length;
  process.kill(running.pid, 'SIGKILL');
  const [row] = await finishedRows(sweepId);
  assert.equal(row?.state, 'succeeded', JSON.stringify(row));
  assert.deepEqual(
    row.attempts.map((attempt) => attempt.outcome),
    ['lost', 'succeeded'],
  );
  assert.match(row.attempts[0]?.reason ?? '', /class process died during the trial \(signal SIGKILL/);
  assert.equal((row.value as { score: number }).score, 106);
  // The killed process was replaced, `__init__` and all.
  // The retry may have run on the other worker: the killed one's rebuild (a 1 s `__init__`) may still be going.
  const rebuilt = await until('the killed process to be rebuilt', () => {
    const inits = records()
      .filter((record) => record.event === 'init')
      .slice(initsBefore);
    return inits.length > 0 ? inits : undefined;
  });
  assert.ok(
    rebuilt.every((init) => init.pid !== running.pid),
    JSON.stringify(rebuilt),
  );
});

test('a trial that hangs past its timeout stops the process, which is started again', async () => {
  const sweepId = await startClassSweep('timeout: 2s\ntrials:\n  - {x: 1, mode: hang}\n  - {x: 4}\n');
  const done = await finishedRows(sweepId);
  assert.equal(done[0]?.state, 'failed');
  assert.match(done[0]?.error ?? '', /timed out after 2s/);
  assert.equal(done[1]?.state, 'succeeded');
  // The hung process was stopped and replaced, `__init__` and all, without a trial asking for it.
  const hungAt = records().findIndex((record) => record.mode === 'hang');
  const hungPid = records()[hungAt]?.pid;
  await until('the hung process to be replaced', () =>
    records()
      .slice(hungAt)
      .find((record) => record.event === 'init' && record.pid !== hungPid),
  );
});

test('trials of a changed class file go only to workers that run that version', async () => {
  const changed = tempDir('class-project-v2');
  cpSync(project, changed, { recursive: true });
  appendFileSync(join(changed, 'trainer.py'), '\n# version 2\n');
  // Without --wait-for-capacity, start says why no live worker would take it, and starts nothing.
  const file = join(changed, 'refused.yml');
  writeFileSync(file, 'worker_class: trainer:Trainer\ntrials:\n  - {x: 5}\n');
  const refused = await runSweep(['start', file, '--pool', cluster.pool, '--control-queue', cluster.controlQueue], {
    cwd: changed,
    env: { ...process.env, TEMPORAL_ADDRESS: cluster.address },
  });
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(
    refused.stderr,
    /nothing started: every trial needs a worker running trainer:Trainer@\w{12}, and the live ones run trainer:Trainer@\w{12}: the class file changed/,
  );
  const sweepId = await startClassSweep('trials:\n  - {x: 5}\n', changed);
  // Two live workers of version 1 are idle: had either taken it, it would have started within this window.
  await delay(3000);
  assert.equal((await rows(sweepId))[0]?.state, 'queued');
  await classWorker('wc-v2', ['--cpu-slots', '1'], changed);
  const [row] = await finishedRows(sweepId);
  assert.equal(row?.state, 'succeeded');
  assert.equal(row.worker, 'wc-v2');
});

/** Runs a Python driver of the Pool API in the project; its stdout's last line is its JSON answer. */
function driver(code: string) {
  return startProcess('python3', ['-c', code], {
    cwd: project,
    env: { ...process.env, TEMPORAL_ADDRESS: cluster.address, PYTHONPATH: PYTHON_DIR },
  });
}

const POOL_ARGS = () => `pool=${JSON.stringify(cluster.pool)}, control_queue=${JSON.stringify(cluster.controlQueue)}`;

test('the Python Pool: map in input order, imap_unordered as jobs finish, worker and node counts', async () => {
  const run = driver(`
import json
from sweep_pool import Pool
from trainer import Trainer
with Pool(Trainer, {"offset": 1}, ${POOL_ARGS()}) as p:
    live = p.wait_for_workers(2, timeout=60)
    jobs = [{"x": 0, "seconds": 2}, {"x": 1}, {"x": 2}]
    ordered = p.map(jobs)
    unordered = list(p.imap_unordered(jobs))
    print(json.dumps({"live": live, "nodes": p.get_nodes_count(), "ordered": ordered, "unordered": unordered}))
`);
  const exit = await run.exited;
  assert.equal(exit.code, 0, run.stderr);
  const answer = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as {
    live: number;
    nodes: number;
    ordered: { score: number }[];
    unordered: { score: number }[];
  };
  assert.ok(answer.live >= 2);
  assert.equal(answer.nodes, 1);
  assert.deepEqual(
    answer.ordered.map((result) => result.score),
    [1, 3, 5],
  );
  // The slow first job finishes last (the two quick ones in either order: they may run at once).
  assert.equal(answer.unordered.at(-1)?.score, 1);
  assert.deepEqual(answer.unordered.map((result) => result.score).sort(), [1, 3, 5]);
});

test("the Python Pool's timeout= fails a job that runs too long; the jobs after it still run", async () => {
  const run = driver(`
import json
from sweep_pool import Pool, PoolJobError
from trainer import Trainer
with Pool(Trainer, ${POOL_ARGS()}, timeout=2) as p:
    jobs = p.submit([{"x": 1, "mode": "hang"}, {"x": 2}])
    try:
        jobs.results()
        print(json.dumps({"raised": None}))
    except PoolJobError as error:
        print(json.dumps({"raised": str(error), "state": error.trial["state"], "sweep": jobs.sweep_id}))
`);
  const exit = await run.exited;
  assert.equal(exit.code, 0, run.stderr);
  const answer = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as {
    raised: string | null;
    state: string;
    sweep: string;
  };
  assert.equal(answer.state, 'failed');
  assert.match(answer.raised ?? '', /^job 0 \(t000_x=1_mode=hang\) failed: .*timed out after 2s/);
  const [, quick] = await finishedRows(answer.sweep);
  assert.equal(quick?.state, 'succeeded', JSON.stringify(quick));
});

test('Pool.attach after the driving script was killed returns every result once', async () => {
  const before = records().length;
  const run = driver(`
import sys
from sweep_pool import Pool
from trainer import Trainer
p = Pool(Trainer, ${POOL_ARGS()})
jobs = p.submit([{"x": x, "seconds": 1} for x in range(6)])
print(jobs.sweep_id, flush=True)
jobs.results()
`);
  const [sweepId] = (await run.waitForOutput(/^(\S+)$/m))[0].split('\n');
  await until('a first job to run', () =>
    records()
      .slice(before)
      .find((record) => record.event === 'run'),
  );
  await run.signal('SIGKILL');
  const attached = driver(`
import json
from sweep_pool import Pool
print(json.dumps(Pool.attach(${JSON.stringify(sweepId)}).results()))
`);
  const exit = await attached.exited;
  assert.equal(exit.code, 0, attached.stderr);
  const results = JSON.parse(attached.stdout.trim().split('\n').at(-1) ?? '[]') as { score: number }[];
  assert.deepEqual(
    results.map((result) => result.score),
    [0, 2, 4, 6, 8, 10].map((score) => score + 100),
  );
});

test('the TypeScript Pool: map, imapUnordered, updateWorkers, counts', async () => {
  const pool = await Pool.open({
    workerClass: 'trainer:Trainer',
    projectDir: project,
    pool: cluster.pool,
    controlQueue: cluster.controlQueue,
    connection: sharedServerConfig(),
  });
  try {
    assert.ok((await pool.waitForWorkers(2, 60_000)) >= 2);
    assert.equal(await pool.nodeCount(), 1);
    const ordered = (await pool.map([{ x: 0, seconds: 1 }, { x: 1 }])) as { score: number }[];
    assert.deepEqual(
      ordered.map((result) => result.score),
      [100, 102],
    );
    const waiting = await pool.submit([{ x: 7, mode: 'wait-update' }]);
    await until('the job to run', () => records().find((record) => record.x === 7 && record.event === 'run'));
    await pool.updateWorkers({ lr: 0.1 });
    const seen: unknown[] = [];
    for await (const result of waiting.imapUnordered()) seen.push(result);
    assert.deepEqual(seen, [{ got: { lr: 0.1 } }]);
    assert.equal(
      await Pool.attach(waiting.sweepId, sharedServerConfig()).then(async (attached) => {
        try {
          return JSON.stringify(await attached.results());
        } finally {
          await attached.close();
        }
      }),
      JSON.stringify(seen),
    );
  } finally {
    await pool.close();
  }
});
