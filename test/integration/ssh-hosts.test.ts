// `sweep hosts` against real OpenSSH servers in network namespaces (test/helpers/ssh-lab.ts): workers brought up
// on a GPU host (fake nvidia-smi, 2 GPUs) and a CPU-only host, bad hosts failing clearly beside them, a sweep
// whose trials land on both, outputs fetched back and logs read from the hosts, and nothing left after `down`.
import assert from 'node:assert/strict';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sharedRecordsFile, startLabServer } from '../helpers/lab-server.js';
import { TRIAL_SCRIPT, type TrialRecord } from '../helpers/cluster.js';
import { FakeGpus, fakeGpu } from '../helpers/fake-gpus.js';
import { runSweep, type CliResult } from '../helpers/processes.js';
import { startSshLab, type LabHost, type SshLab } from '../helpers/ssh-lab.js';
import { tempDir } from '../helpers/temporal.js';
import type { WorkerRow } from '../../src/cli/commands/hosts.js';
import { until } from '../helpers/until.js';

let lab: SshLab;
let stopServer: (() => Promise<void>) | undefined;
/** Where the CLI and the hosts reach the server: its address on the lab's bridge. */
let serverAddress: string;
let gpus: FakeGpus;
let hosta: LabHost;
let hostb: LabHost;
let project: string;
let records: string;

function env(): NodeJS.ProcessEnv {
  return { ...process.env, TEMPORAL_ADDRESS: serverAddress };
}

function sweep(args: readonly string[]): Promise<CliResult> {
  return runSweep(args, { cwd: project, env: env() });
}

function hostsArgs(command: string, file: string, extra: readonly string[] = []): string[] {
  return ['hosts', command, file, '--known-hosts', lab.knownHosts, '--connect-timeout', '3', ...extra];
}

function inventory(name: string, hosts: readonly string[]): string {
  const file = join(project, name);
  writeFileSync(file, `pool: lab\nremote_dir: ~/work\nhosts:\n${hosts.join('\n')}\n`);
  return file;
}

function entry(host: LabHost, fields: Record<string, string> = {}): string {
  const lines = {
    name: host.name,
    address: host.address,
    user: host.user,
    key: lab.clientKey,
    ...fields,
  };
  return Object.entries(lines)
    .map(([key, value], index) => `${index === 0 ? '  - ' : '    '}${key}: ${JSON.stringify(value)}`)
    .join('\n');
}

/** One host of `sweep hosts status --json`. */
interface HostStatusJson {
  readonly host: string;
  readonly ok: boolean;
  readonly supervisor: { readonly running: boolean };
  readonly workers: readonly WorkerRow[];
}

const byHost = (a: { host: string }, b: { host: string }) => a.host.localeCompare(b.host);

function trialRecords(): TrialRecord[] {
  if (!existsSync(records)) return [];
  return readFileSync(records, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as TrialRecord);
}

before(async () => {
  gpus = new FakeGpus({ gpus: [fakeGpu(0), fakeGpu(1)] });
  // The hosts' users read the fake and its state.
  for (const dir of [gpus.dir, join(gpus.dir, 'bin')]) chmodSync(dir, 0o755);
  chmodSync(gpus.statePath, 0o644);
  lab = await startSshLab([
    { name: 'hosta', pathPrepend: [join(gpus.dir, 'bin')], env: { FAKE_NVIDIA_SMI_STATE: gpus.statePath } },
    { name: 'hostb' },
    { name: 'hostc', withoutNode: true },
    { name: 'hoste' },
  ]);
  [hosta, hostb] = lab.hosts as [LabHost, LabHost];
  ({ stop: stopServer, address: serverAddress } = await startLabServer(lab));
  project = tempDir('ssh-project');
  chmodSync(project, 0o755);
  copyFileSync(TRIAL_SCRIPT, join(project, 'trial.mjs'));
  writeFileSync(join(project, 'notes.txt'), 'first\n');
  mkdirSync(join(project, '.git'));
  writeFileSync(join(project, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  records = sharedRecordsFile();
});

after(async () => {
  await lab?.dispose();
  await stopServer?.();
  gpus?.remove();
});

test('up brings the good hosts up while each bad one fails with its host and step', async () => {
  const hostc = lab.hosts[2] as LabHost;
  const hoste = lab.hosts[3] as LabHost;
  // hoste's key is not in this known_hosts: first contact.
  const knownHosts = join(tempDir('known-hosts'), 'known_hosts');
  writeFileSync(
    knownHosts,
    readFileSync(lab.knownHosts, 'utf8')
      .split('\n')
      .filter((line) => !line.startsWith(`${hoste.address} `))
      .join('\n'),
  );
  const unreachable = lab.serverAddress.replace(/\.\d+$/, '.250');
  const file = inventory('hosts-all.yml', [
    entry(hosta),
    entry(hostb),
    entry(hostc),
    entry(hosta, { name: 'wrongkey', key: lab.wrongKey }),
    entry(hoste),
    entry(hostb, { name: 'nowhere', address: unreachable }),
  ]);
  const temporal = `temporal_address: ${JSON.stringify(serverAddress)}\n`;
  writeFileSync(file, temporal + readFileSync(file, 'utf8'));
  const up = await sweep([...hostsArgs('up', file).map((arg) => (arg === lab.knownHosts ? knownHosts : arg))]);
  assert.equal(up.code, 1, up.stderr);
  assert.match(up.stderr, /^hostc: node: node not found on the host .*install Node\.js 20\.9 or newer/m);
  assert.match(
    up.stderr,
    new RegExp(`^wrongkey: ssh: authentication failed for user ${hosta.user} \\(key ${lab.wrongKey}\\)`, 'm'),
  );
  assert.match(
    up.stderr,
    new RegExp(
      `^hoste: ssh: unknown host key for ${hoste.address} \\(SHA256:[A-Za-z0-9+/]+\\).*--accept-new-host-keys`,
      'm',
    ),
  );
  assert.match(up.stderr, new RegExp(`^nowhere: ssh: .*${unreachable.replaceAll('.', '\\.')}:22`, 'm'));
  assert.match(up.stderr, /2 hosts up; 4 failed: hostc \(node\), wrongkey \(ssh\), hoste \(ssh\), nowhere \(ssh\)/);
  assert.match(up.stdout, /^hosta: hosta-gpu0, hosta-gpu1 started\/updated \(supervisor\); worker bundle \w+ sent/m);
  assert.match(up.stdout, /^hostb: hostb-cpu started\/updated/m);
  // First contact accepted explicitly: the key is recorded and hoste connects.
  const accepted = await sweep([
    'hosts',
    'check',
    file,
    '--host',
    'hoste',
    '--known-hosts',
    knownHosts,
    '--accept-new-host-keys',
  ]);
  assert.equal(accepted.code, 0, accepted.stderr);
  assert.match(readFileSync(knownHosts, 'utf8'), new RegExp(`^${hoste.address} ssh-ed25519 `, 'm'));
});

test('up twice changes nothing; after one project file is edited, that file alone is sent', async () => {
  const file = join(project, 'hosts.yml');
  writeFileSync(
    file,
    `pool: lab\nremote_dir: ~/work\ntemporal_address: ${JSON.stringify(serverAddress)}\nhosts:\n${entry(hosta)}\n${entry(hostb)}\n`,
  );
  // The first up of this inventory sends hosts.yml itself: a project file like any other.
  const first = await sweep(hostsArgs('up', file, ['--json']));
  assert.equal(first.code, 0, first.stderr);
  const again = await sweep(hostsArgs('up', file, ['--json']));
  assert.equal(again.code, 0, again.stderr);
  const outcomes = JSON.parse(again.stdout) as {
    host: string;
    bundle: { sent: boolean };
    sync: { sent: string[]; files: number };
    workersChanged: boolean;
    connectionChanged: boolean;
  }[];
  for (const outcome of outcomes) {
    assert.deepEqual(
      [outcome.bundle.sent, outcome.sync.sent, outcome.workersChanged, outcome.connectionChanged],
      [false, [], false, false],
      outcome.host,
    );
  }
  writeFileSync(join(project, 'notes.txt'), 'second\n');
  const edited = await sweep(hostsArgs('up', file, ['--json']));
  assert.equal(edited.code, 0, edited.stderr);
  for (const outcome of JSON.parse(edited.stdout) as typeof outcomes) {
    assert.deepEqual([outcome.bundle.sent, outcome.sync.sent, outcome.workersChanged], [false, ['notes.txt'], false]);
  }
  const copied = await hostb.run(['cat', join(hostb.home, 'work', 'notes.txt')]);
  assert.equal(copied.stdout, 'second\n');
  // sync: files only, to the hosts named; a file deleted here goes there too, nothing else of the host's does.
  writeFileSync(join(project, 'extra.txt'), 'extra\n');
  await hostb.run(['sh', '-c', 'echo mine > ~/work/host-own.txt']);
  const synced = await sweep(hostsArgs('sync', file, ['--host', 'hostb']));
  assert.equal(synced.code, 0, synced.stderr);
  assert.match(synced.stdout, /^hostb: \d+ files; 1 sent \(extra\.txt\)$/m);
  assert.equal((await hosta.run(['test', '-e', join(hosta.home, 'work', 'extra.txt')])).code, 1, 'hosta not synced');
  rmSync(join(project, 'extra.txt'));
  const removed = await sweep(hostsArgs('sync', file, ['--host', 'hostb']));
  assert.match(removed.stdout, /^hostb: \d+ files; 0 sent; 1 removed \(extra\.txt\)$/m);
  assert.equal((await hostb.run(['cat', join(hostb.home, 'work', 'host-own.txt')])).stdout, 'mine\n');
  const git = await hostb.run(['ls', join(hostb.home, 'work', '.git')]);
  assert.notEqual(git.code, 0, '.git is left out by default');
});

test('a sweep lands on both hosts; status, fetch and logs reach the trials where they ran', async () => {
  const file = join(project, 'hosts.yml');
  const status = await until('every worker up', async () => {
    const result = await sweep(hostsArgs('status', file, ['--json']));
    const hosts = JSON.parse(result.stdout || '[]') as HostStatusJson[];
    const states = hosts.flatMap((host) => host.workers.map((worker) => `${worker.worker}=${worker.state}`)).sort();
    return states.join(' ') === 'hosta-gpu0=up hosta-gpu1=up hostb-cpu=up' ? hosts : undefined;
  });
  // What the status table shows, one object per host: its supervisor, and each worker's process and heartbeat.
  assert.deepEqual(status.map(({ host, ok, supervisor }) => ({ host, ok, running: supervisor.running })).sort(byHost), [
    { host: 'hosta', ok: true, running: true },
    { host: 'hostb', ok: true, running: true },
  ]);
  const listed = status.flatMap((host) => host.workers).sort((a, b) => a.worker.localeCompare(b.worker));
  assert.deepEqual(
    listed.map(({ worker, gpu, trials }) => ({ worker, gpu, trials })),
    [
      { worker: 'hosta-gpu0', gpu: '0', trials: [] },
      { worker: 'hosta-gpu1', gpu: '1', trials: [] },
      { worker: 'hostb-cpu', gpu: 'cpu', trials: [] },
    ],
  );
  for (const worker of listed) {
    assert.ok(Number.isInteger(worker.pid) && Number.isInteger(worker.restarts), JSON.stringify(worker));
    assert.ok((worker.heartbeatAgoMs ?? -1) >= 0 && /\S/.test(worker.version), JSON.stringify(worker));
  }
  // mlframework's echo task: one tiny trial on every live worker, each held by that worker alone.
  const check = await sweep(hostsArgs('check', file, ['--json']));
  assert.equal(check.code, 0, check.stderr);
  const echoes = (JSON.parse(check.stdout) as { echo: { worker: string; ok: boolean; detail: string }[] }[]).flatMap(
    (host) => host.echo,
  );
  assert.deepEqual(echoes.map((echo) => [echo.worker, echo.ok]).sort(), [
    ['hosta-gpu0', true],
    ['hosta-gpu1', true],
    ['hostb-cpu', true],
  ]);
  for (const echo of echoes) assert.match(echo.detail, new RegExp(`^ok on ${echo.worker} \\(\\d+\\.\\d s\\)$`));
  writeFileSync(
    join(project, 'sweep.yml'),
    'command: [node, trial.mjs]\nargs: none\n' +
      `env: {RECORDS: ${JSON.stringify(records)}}\npool: lab\nmax_parallel: 6\n` +
      'parameters:\n  x: [1, 2, 3, 4, 5, 6]\n  steps: [4]\n  step_ms: [250]\n',
  );
  const started = await sweep(['start', 'sweep.yml', '--wait']);
  assert.equal(started.code, 0, started.stderr);
  const sweepId = started.stdout.split('\n')[0] ?? '';
  const ran = trialRecords().filter((record) => record.sweep === sweepId && record.event === 'end');
  assert.equal(ran.length, 6, JSON.stringify(ran));
  const workers = new Set(ran.map((record) => record.worker));
  assert.ok(workers.has('hostb-cpu'), `trials ran on ${[...workers].join(', ')}`);
  assert.ok(
    [...workers].some((worker) => worker.startsWith('hosta-gpu')),
    `trials ran on ${[...workers].join(', ')}`,
  );
  const onGpu = trialRecords().filter(
    (record) => record.sweep === sweepId && record.event === 'start' && record.worker.startsWith('hosta-gpu'),
  );
  // Each trial sees only the GPU of the worker that ran it.
  for (const record of onGpu) assert.equal(record.visibleDevices, record.worker.slice(-1));

  const into = tempDir('ssh-fetch');
  const fetched = await sweep(['fetch', sweepId, '--to', into]);
  assert.equal(fetched.code, 0, fetched.stderr);
  assert.equal(readdirSync(into).length, 6);
  for (const trial of readdirSync(into)) assert.equal(readFileSync(join(into, trial, 'checkpoint'), 'utf8'), '4');
  writeFileSync(join(into, readdirSync(into)[0] ?? '', 'checkpoint'), 'mine');
  const again = await sweep(['fetch', sweepId, '--to', into]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(readFileSync(join(into, readdirSync(into)[0] ?? '', 'checkpoint'), 'utf8'), 'mine', 'never overwritten');

  const gpuTrial = onGpu[0]?.trial ?? 0;
  const logs = await sweep(['logs', sweepId, String(gpuTrial), '--hosts', file, '--known-hosts', lab.knownHosts]);
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /@sweep \{"step":4,/);
});

test('sweep batch --hosts: the project copied forward, jobs run on the hosts, results copied back', async () => {
  writeFileSync(join(project, 'local.sh'), 'echo "local.sh ran in $(pwd)"\n');
  writeFileSync(
    join(project, 'jobs.sh'),
    [
      '# ml-scheduler batch file: one job per line, named by its line number',
      'cat notes.txt && echo hello > "$SWEEP_TRIAL_DIR/out.txt"',
      'echo "jobs will tell you if they fail" && exit 3',
      'bash local.sh',
    ].join('\n'),
  );
  const batch = await sweep([
    'batch',
    'jobs.sh',
    '--hosts',
    join(project, 'hosts.yml'),
    '--known-hosts',
    lab.knownHosts,
  ]);
  assert.equal(batch.code, 1, batch.stderr);
  assert.match(batch.stderr, /^hosta: .*local\.sh/m, 'the new project files went forward');
  assert.match(batch.stdout, /^finished: jobs\.sh\.2; cat notes\.txt/m);
  assert.match(batch.stdout, /^failed: jobs\.sh\.3; /m);
  assert.match(batch.stdout, /^finished: jobs\.sh\.4; bash local\.sh/m);
  const results = join(project, 'job_results');
  assert.equal(readFileSync(join(results, 'jobs.sh.2', 'stdout'), 'utf8'), 'second\n');
  assert.equal(readFileSync(join(results, 'jobs.sh.2', 'out.txt'), 'utf8'), 'hello\n');
  assert.match(readFileSync(join(results, 'jobs.sh.4', 'stdout'), 'utf8'), /^local\.sh ran in \/.*\/work$/m);
  const failed = JSON.parse(readFileSync(join(results, 'jobs.sh.3', 'job.json'), 'utf8')) as {
    state: string;
    exitCode: number;
    worker: string;
  };
  assert.deepEqual([failed.state, failed.exitCode], ['failed', 3]);
  assert.match(failed.worker, /^host[ab]-(gpu\d|cpu)$/);
});

test('down stops every worker and leaves no process behind; the project files stay', async () => {
  const file = join(project, 'hosts.yml');
  const down = await sweep(hostsArgs('down', file));
  assert.equal(down.code, 0, down.stderr);
  for (const host of [hosta, hostb]) {
    const left = await until(
      `${host.name} to have no process`,
      async () => {
        const processes = await host.processes();
        return processes.length === 0 ? processes : undefined;
      },
      30_000,
    );
    assert.deepEqual(left, []);
    assert.equal((await host.run(['test', '-e', join(host.home, '.sweep')])).code, 1, "Sweep's state is removed");
    assert.equal((await host.run(['cat', join(host.home, 'work', 'notes.txt')])).stdout, 'second\n');
  }
  const status = await sweep(hostsArgs('status', file));
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /hosta +no workers \(sweep hosts up\)/);
});
