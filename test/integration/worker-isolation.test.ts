import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { procStat } from '../../src/activities/proc-stat.js';
import { setTimeout as delay } from 'node:timers/promises';
import type { DevServer } from '../../src/server/dev-server.js';
import { overlappingAttempts, processAlive, TestCluster } from '../helpers/cluster.js';
import { fakeGpu, FakeGpus } from '../helpers/fake-gpus.js';
import { sharedServerConfig, startPrivateServer, tempDir } from '../helpers/temporal.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await delay(25);
  }
}

/** Processes of a process group, from /proc: pid, parent pid and command name. */
function groupMembers(pgid: number): { pid: number; ppid: number; comm: string }[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      const stat = procStat(Number(entry));
      return stat && stat.pgid === pgid && stat.state !== 'Z'
        ? [{ pid: Number(entry), ppid: stat.ppid, comm: stat.comm }]
        : [];
    });
}

function pgidOf(pid: number): number {
  const stat = procStat(pid);
  if (!stat) throw new Error(`process ${pid} is gone`);
  return stat.pgid;
}

test('a worker cut off from the server kills its own trial before the trial can run elsewhere', async () => {
  const server: DevServer = await startPrivateServer(join(tempDir('fence'), 'temporal.db'));
  cleanups.push(() => server.stop());
  const owner = new TestCluster(server.address);
  cleanups.push(() => owner.stop());
  await owner.startWorker('f1');
  const sweepId = await owner.start('  x: [1]\n  steps: 100\n  step_ms: 100', { args: ['--heartbeat-timeout', '6'] });
  const [first] = await owner.waitForRecords((records) => records.some((r) => r.event === 'start'));
  assert.ok(first);
  await delay(500);

  // A frozen server is a partition as the worker sees it: no answer at all.
  const serverPid = server.pid ?? 0;
  process.kill(serverPid, 'SIGSTOP');
  const frozenAt = Date.now();
  try {
    await waitUntil(() => !processAlive(first.pid), 8000, 'the worker fenced its trial');
  } finally {
    process.kill(serverPid, 'SIGCONT');
  }
  const fencedAfter = Date.now() - frozenAt;
  process.stderr.write(`# fenced ${fencedAfter} ms after the server froze (heartbeat timeout 6 s)\n`);
  assert.ok(fencedAfter < 6000, `fenced before the heartbeat timeout (${fencedAfter} ms)`);

  const watched = await owner.sweep(['watch', sweepId]);
  assert.equal(watched.code, 0, watched.stderr);
  const starts = owner.records(sweepId).filter((r) => r.event === 'start');
  assert.equal(starts.length, 2, `${watched.stdout}\n${JSON.stringify(owner.records(sweepId))}`);
  assert.ok((starts[1]?.from ?? 0) > 0, 'the second attempt resumed from the checkpoint');
  assert.deepEqual(overlappingAttempts(owner.records(sweepId), frozenAt + fencedAfter), []);
});

test('a worker restarting on a queue first kills what its predecessor left running there', async () => {
  const owner = new TestCluster(sharedServerConfig().address);
  cleanups.push(() => owner.stop());
  const first = await owner.startWorker('reaper');
  await owner.start('  x: [1]\n  steps: 600\n  step_ms: 100\n  quiet: true', { args: ['--heartbeat-timeout', '30'] });
  const [start] = await owner.waitForRecords((records) => records.some((r) => r.event === 'start'));
  assert.ok(start);
  // Defeat the supervisor's watcher first, so the trial survives its worker (as if the watcher had died too).
  const pgid = pgidOf(start.pid);
  const watcher = groupMembers(pgid).find((member) => member.ppid === pgid && member.comm === 'sh');
  assert.ok(watcher, JSON.stringify(groupMembers(pgid)));
  process.kill(watcher.pid, 'SIGKILL');
  await first.signal('SIGKILL');
  await delay(300);
  assert.ok(processAlive(start.pid), 'the orphaned trial is still running');

  const second = await owner.startWorker('reaper');
  assert.match(
    second.stdout,
    /took over from a worker that died: killed 1 leftover trial process group\(s\), reported 1 lost trial\(s\)/,
  );
  await waitUntil(() => !processAlive(start.pid), 2000, 'the leftover trial is gone');
});

test('--all-gpus runs one worker for the host, each trial seeing only the GPU it was given', async () => {
  const owner = new TestCluster(sharedServerConfig().address);
  cleanups.push(() => owner.stop());
  const gpus = new FakeGpus({ gpus: [fakeGpu(0), fakeGpu(1)] });
  cleanups.push(() => Promise.resolve(gpus.remove()));
  const worker = await owner.startWorkerWith('all', ['--all-gpus'], { env: gpus.env, ready: /ready/ });
  const host = (hostname().split('.')[0] ?? '').toLowerCase().replace(/[^a-z0-9-]/g, '-');
  assert.match(worker.stdout, new RegExp(`worker ${host} ready: 2 GPU\\(s\\) \\(CUDA_VISIBLE_DEVICES 0,1\\), 1 slot`));

  const sweepId = await owner.start('  x: [1, 2, 3, 4]\n  steps: 3\n  step_ms: 200');
  assert.equal((await owner.sweep(['watch', sweepId])).code, 0);
  const records = owner.records(sweepId);
  const starts = records.filter((r) => r.event === 'start');
  assert.equal(starts.length, 4);
  assert.deepEqual(new Set(starts.map((start) => start.visibleDevices)), new Set(['0', '1']));
  // Two trials that ran at the same time never saw the same GPU.
  const spans = starts.map((start) => ({
    gpu: start.visibleDevices,
    from: start.time,
    to: records.find((r) => r.event === 'end' && r.trial === start.trial)?.time ?? Infinity,
  }));
  for (const a of spans) {
    for (const b of spans) {
      if (a !== b && a.from < b.to && b.from < a.to) assert.notEqual(a.gpu, b.gpu, 'overlapping trials shared a GPU');
    }
  }
  const results = await owner.sweep(['results', sweepId, '--format', 'json']);
  const rows = results.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { worker: string });
  assert.deepEqual(new Set(rows.map((row) => row.worker)), new Set([`${host}-gpu0`, `${host}-gpu1`]));

  assert.equal((await worker.signal('SIGTERM')).code, 0, 'the worker stops cleanly');
});
