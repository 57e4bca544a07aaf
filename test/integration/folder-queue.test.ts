// jobdispatcher's folder queue as Sweep runs it: scripts dropped into queue/ run one by one on the GPU, in natural
// order, end in completed/ or failed/ with their output, can be taken back before they start, and survive a
// dispatcher killed mid-script.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FakeGpus, fakeGpu } from '../helpers/fake-gpus.js';
import { startSweep, type RunningProcess } from '../helpers/processes.js';
import { sharedServerConfig, tempDir, uniqueName } from '../helpers/temporal.js';
import { until } from '../helpers/until.js';

let gpus: FakeGpus;
const controlQueue = uniqueName('control');
const running = new Set<RunningProcess>();

function dispatcher(dir: string): RunningProcess {
  const child = startSweep(
    ['queue', dir, '--gpu', '0', '--wait', '0.2', '--control-queue', controlQueue, '--kill-grace', '1'],
    {
      env: { ...gpus.env, TEMPORAL_ADDRESS: sharedServerConfig().address },
    },
  );
  running.add(child);
  return child;
}

/** Drops a script into queue/ the way users do: written beside it, then moved in whole. */
function drop(dir: string, name: string, body: string, mode = 0o755): void {
  const staged = join(dir, `.${name}.staged`);
  writeFileSync(staged, body, { mode });
  renameSync(staged, join(dir, 'queue', name));
}

function logOf(dir: string): string {
  return existsSync(join(dir, 'logfile.txt')) ? readFileSync(join(dir, 'logfile.txt'), 'utf8') : '';
}

/** Every name the `N new jobs added to queue [...]` lines announced, each line's count checked against its list. */
function announced(log: string): string[] {
  return [...log.matchAll(/INFO: (\d+) new jobs added to queue \[(.*)\]$/gm)].flatMap(([, count, list]) => {
    const names = [...(list ?? '').matchAll(/'([^']+)'/g)].map((match) => match[1] ?? '');
    assert.equal(names.length, Number(count));
    return names;
  });
}

before(() => {
  gpus = new FakeGpus({ gpus: [fakeGpu(0)] });
});

after(async () => {
  await Promise.all([...running].map((child) => child.signal('SIGTERM')));
  gpus.remove();
});

test("jobdispatcher's own scripts: three run and complete, bad.sh fails with exit 2, both with their output", async () => {
  const dir = tempDir('queue');
  const child = dispatcher(dir);
  await until('the dispatcher to start', () => logOf(dir).includes('Job queue empty. Waiting...'));
  const order = join(dir, 'order.txt');
  for (const n of ['01', '02', '03']) {
    drop(dir, `script${n}.sh`, `#!/bin/sh\necho "script${n} on GPU $CUDA_VISIBLE_DEVICES"\necho ${n} >> ${order}\n`);
  }
  drop(dir, 'bad.sh', '#!/bin/sh\nif then fi\n');
  await until(
    'every script to end',
    () =>
      readdirSync(join(dir, 'failed')).includes('bad.sh') &&
      readdirSync(join(dir, 'completed')).filter((name) => name.endsWith('.sh')).length === 3,
    90_000,
  );
  assert.deepEqual(readdirSync(join(dir, 'completed')).sort(), [
    'script01.sh',
    'script01.sh.err',
    'script01.sh.out',
    'script02.sh',
    'script02.sh.err',
    'script02.sh.out',
    'script03.sh',
    'script03.sh.err',
    'script03.sh.out',
  ]);
  assert.equal(readFileSync(join(dir, 'completed', 'script02.sh.out'), 'utf8'), 'script02 on GPU 0\n');
  assert.equal(readFileSync(order, 'utf8'), '01\n02\n03\n', 'one after another, in order');
  assert.match(readFileSync(join(dir, 'failed', 'bad.sh.err'), 'utf8'), /syntax error/i);
  const log = logOf(dir);
  assert.match(log, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d INFO: ------------ Job Dispatcher Started ------------$/m);
  assert.deepEqual(announced(log).sort(), ['bad.sh', 'script01.sh', 'script02.sh', 'script03.sh']);
  assert.match(log, /INFO: Running job script01\.sh\.\.\.\n.*INFO: script01\.sh returned 0\n/);
  assert.match(log, /WARNING: bad\.sh returned 2$/m);
  assert.equal(child.child.exitCode, null, 'a failing script never stops the dispatcher');
});

test('natural order, no shebang runs with sh, a script taken back before its turn never runs', async () => {
  const dir = tempDir('queue-order');
  dispatcher(dir);
  await until('the dispatcher to start', () => logOf(dir).includes('Job queue empty. Waiting...'));
  const order = join(dir, 'order.txt');
  const gate = join(dir, 'gate');
  // The first script holds the GPU until the gate exists, so the others queue behind it in one listing.
  drop(dir, 'a-first.sh', `#!/bin/sh\nwhile [ ! -e ${gate} ]; do sleep 0.05; done\necho first >> ${order}\n`);
  await until('the first script to run', () => logOf(dir).includes('Running job a-first.sh...'));
  drop(dir, 'script10.sh', `echo 10 >> ${order}\n`);
  drop(dir, 'script2.sh', `echo 2 >> ${order}\n`);
  drop(dir, 'script3.sh', `echo 3 >> ${order}\n`);
  await until('all three listed', () =>
    ['script2.sh', 'script3.sh', 'script10.sh'].every((name) => announced(logOf(dir)).includes(name)),
  );
  rmSync(join(dir, 'queue', 'script3.sh'));
  writeFileSync(gate, '');
  await until(
    'the rest to complete',
    () => readdirSync(join(dir, 'completed')).filter((name) => name.endsWith('.sh')).length === 3,
    60_000,
  );
  assert.equal(readFileSync(order, 'utf8'), 'first\n2\n10\n', 'script2 before script10; script3 never ran');
  assert.doesNotMatch(logOf(dir), /Running job script3\.sh/);
});

test('a dispatcher SIGKILLed during a script runs it again after restart, and it completes once', async () => {
  const dir = tempDir('queue-kill');
  const first = dispatcher(dir);
  await until('the dispatcher to start', () => logOf(dir).includes('Job queue empty. Waiting...'));
  const starts = join(dir, 'starts.txt');
  const gate = join(dir, 'gate');
  drop(dir, 'long.sh', `#!/bin/sh\necho start >> ${starts}\nwhile [ ! -e ${gate} ]; do sleep 0.05; done\necho done\n`);
  await until('the script to start', () => existsSync(starts));
  first.child.kill('SIGKILL');
  await first.exited;
  running.delete(first);
  dispatcher(dir);
  await until('the script to start again', () => readFileSync(starts, 'utf8') === 'start\nstart\n', 90_000);
  writeFileSync(gate, '');
  // The dispatcher's last word on a script comes after it moved the script and dropped its marker.
  await until('the script to complete', () => /INFO: long\.sh returned/.test(logOf(dir)), 60_000);
  assert.deepEqual(readdirSync(join(dir, 'completed')).sort(), ['long.sh', 'long.sh.err', 'long.sh.out']);
  assert.equal(readFileSync(join(dir, 'completed', 'long.sh.out'), 'utf8'), 'done\n');
  assert.deepEqual(readdirSync(join(dir, 'running')), []);
  assert.match(logOf(dir), /INFO: long\.sh returned 0$/m);
});
