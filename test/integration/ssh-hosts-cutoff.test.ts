// A host cut off mid-sweep (its link taken down: no ssh, no Temporal): its trials fence themselves and are
// rescheduled on the other host, the sweep completes, and when the link comes back its workers carry on without
// any trial running twice at once.
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { sharedRecordsFile, startLabServer } from '../helpers/lab-server.js';
import { overlappingAttempts, TRIAL_SCRIPT, type TrialRecord } from '../helpers/cluster.js';
import { runSweep, startSweep, type CliResult } from '../helpers/processes.js';
import { startSshLab, type LabHost, type SshLab } from '../helpers/ssh-lab.js';
import { tempDir } from '../helpers/temporal.js';

let lab: SshLab;
let stopServer: (() => Promise<void>) | undefined;
/** Where the CLI and the hosts reach the server: its address on the lab's bridge. */
let serverAddress: string;
let project: string;
let records: string;
let inventory: string;

function sweep(args: readonly string[]): Promise<CliResult> {
  return runSweep(args, { cwd: project, env: { ...process.env, TEMPORAL_ADDRESS: serverAddress } });
}

function trialRecords(): TrialRecord[] {
  return readFileSync(records, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as TrialRecord);
}

async function until(what: string, holds: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!holds()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${readFileSync(records, 'utf8')}`);
    await delay(200);
  }
}

before(async () => {
  lab = await startSshLab([{ name: 'hosta' }, { name: 'hostb' }]);
  ({ stop: stopServer, address: serverAddress } = await startLabServer(lab));
  project = tempDir('cutoff-project');
  chmodSync(project, 0o755);
  copyFileSync(TRIAL_SCRIPT, join(project, 'trial.mjs'));
  records = sharedRecordsFile();
  inventory = join(project, 'hosts.yml');
  const host = (each: LabHost) =>
    `  - {name: ${each.name}, address: ${each.address}, user: ${each.user}, key: ${JSON.stringify(lab.clientKey)}, cpu_slots: 2}`;
  writeFileSync(
    inventory,
    `pool: cut\ntemporal_address: ${JSON.stringify(serverAddress)}\nhosts:\n${lab.hosts.map(host).join('\n')}\n`,
  );
  const up = await sweep(['hosts', 'up', inventory, '--known-hosts', lab.knownHosts]);
  assert.equal(up.code, 0, up.stderr);
});

after(async () => {
  await lab?.dispose();
  await stopServer?.();
});

test('a host cut off mid-sweep: its trials finish on the other host, and nothing runs twice at once', async () => {
  const [hosta] = lab.hosts as [LabHost, LabHost];
  writeFileSync(
    join(project, 'sweep.yml'),
    `command: [node, trial.mjs]\nargs: none\nenv: {RECORDS: ${JSON.stringify(records)}}\npool: cut\n` +
      'max_parallel: 4\nparameters:\n  x: [1, 2, 3, 4, 5, 6]\n  steps: [16]\n  step_ms: [500]\n',
  );
  const follower = startSweep(['start', 'sweep.yml', '--wait', '--heartbeat-timeout', '10', '--wait-for-capacity'], {
    cwd: project,
    env: { ...process.env, TEMPORAL_ADDRESS: serverAddress },
  });
  const running = () => trialRecords().filter((record) => record.event === 'start');
  await until('trials running on hosta', () => running().some((record) => record.worker === 'hosta-cpu'), 60_000);
  await hosta.cutOff();
  const cutAt = Date.now();
  const strandedTrials = new Set(
    running()
      .filter((record) => record.worker === 'hosta-cpu')
      .map((r) => r.trial),
  );
  // The cut-off host fences its trials itself (its worker cannot reach the server): seen here as the moment
  // the last of them is gone, an upper bound on when each died.
  const trialsOnHosta = async () =>
    (await hosta.processes()).filter((process) => process.args.includes('trial.mjs')).length;
  const fenceDeadline = Date.now() + 30_000;
  while ((await trialsOnHosta()) > 0) {
    assert.ok(Date.now() < fenceDeadline, 'the cut-off host never fenced its trials');
    await delay(100);
  }
  const fencedAt = Date.now();
  assert.ok(
    fencedAt - cutAt < 10_000,
    `fenced ${fencedAt - cutAt} ms after the cut, before the 10 s heartbeat deadline`,
  );
  await until(
    'every stranded trial to start again on hostb',
    () => [...strandedTrials].every((trial) => running().some((r) => r.trial === trial && r.worker === 'hostb-cpu')),
    90_000,
  );
  // Back while the rescheduled attempts still run: hosta's workers must not pick those trials up again.
  await hosta.restore();
  const exit = await follower.exited;
  assert.equal(exit.code, 0, follower.stderr);
  const all = trialRecords();
  const ends = all.filter((record) => record.event === 'end' && record.code === 0);
  assert.deepEqual([...new Set(ends.map((record) => record.trial))].sort(), [0, 1, 2, 3, 4, 5]);
  // An attempt without an end record was fenced (killed) on hosta, by fencedAt at the latest.
  assert.deepEqual(overlappingAttempts(all, fencedAt), []);
  for (const trial of strandedTrials) {
    const late = all.filter(
      (r) => r.trial === trial && r.worker === 'hosta-cpu' && r.event === 'end' && r.time > cutAt,
    );
    assert.deepEqual(late, [], `trial ${trial} did not finish on the cut-off host after it was rescheduled`);
  }
  const status = await sweep(['hosts', 'status', inventory, '--known-hosts', lab.knownHosts, '--json']);
  assert.equal(status.code, 0, status.stderr);
  const workers = (JSON.parse(status.stdout) as { workers: { worker: string; restarts: number }[] }[]).flatMap(
    (host) => host.workers,
  );
  assert.deepEqual(workers.map((worker) => worker.worker).sort(), ['hosta-cpu', 'hostb-cpu']);
  const down = await sweep(['hosts', 'down', inventory, '--known-hosts', lab.knownHosts]);
  assert.equal(down.code, 0, down.stderr);
});
