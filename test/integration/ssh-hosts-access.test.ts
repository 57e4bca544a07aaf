// How `sweep hosts` reaches a host and what crosses over to it, against real OpenSSH servers (test/helpers/
// ssh-lab.ts): ~/.ssh/config aliases and a ProxyJump hop to a host this machine cannot reach itself; a passphrase
// key used only through a real ssh agent; inventory values full of shell syntax arriving as plain words; an API
// key that lands in one 0600 file on the host and in no command line or log.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startLabServer } from '../helpers/lab-server.js';
import { runSweep, startProcess, type CliResult, type RunningProcess } from '../helpers/processes.js';
import { startSshLab, type LabHost, type SshLab } from '../helpers/ssh-lab.js';
import { tempDir } from '../helpers/temporal.js';
import { until } from '../helpers/until.js';

let lab: SshLab;
let stopServer: (() => Promise<void>) | undefined;
/** Where the CLI and the hosts reach the server: its address on the lab's bridge. */
let serverAddress: string;
/** The CLI's HOME: its ~/.ssh/config, and no default keys, agent or data dir of the machine's own. */
let home: string;
/** The project `up` syncs: notes.txt alone (the inventories live elsewhere, written while it syncs). */
let project: string;
let inventories: string;
let agent: RunningProcess | undefined;
/**
 * The `hosts up` of the quoting and the secrets tests, started in before(): sending the worker bundle takes most
 * of their time, and this way it overlaps the tests that send none.
 */
let quoting: { host: LabHost; file: string; pool: string; up: Promise<CliResult> };
let secrets: { host: LabHost; file: string; pool: string; up: Promise<CliResult> };
/** A host whose workers run a Python worker class from the synced project (`python:` and `init:`). */
let classy: { host: LabHost; file: string; pool: string; project: string; up: Promise<CliResult> };
const LABEL = `it's "q"; touch ~/pwned1 $(touch ~/pwned2) \`touch ~/pwned3\``;
const REMOTE_DIR = "~/my dir/it's $(touch ~/pwned4)";
const API_KEY = 'sekrit-123';
const madeDirs: string[] = [];
/** Every argv and environment given to the CLI, to show that the key passphrase is never among them. */
const invocations: { args: readonly string[]; env: NodeJS.ProcessEnv }[] = [];

function sweep(args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, TEMPORAL_ADDRESS: serverAddress, ...extraEnv };
  for (const name of ['SSH_AUTH_SOCK', 'XDG_DATA_HOME']) if (!(name in extraEnv)) delete env[name];
  invocations.push({ args, env });
  return runSweep(args, { cwd: project, env });
}

function hostsArgs(command: string, file: string, extra: readonly string[] = []): string[] {
  return ['hosts', command, file, '--known-hosts', lab.knownHosts, '--connect-timeout', '3', ...extra];
}

function inventory(name: string, body: string): string {
  const file = join(inventories, name);
  writeFileSync(file, body);
  return file;
}

/** One inventory host reached by its address, with the lab's key, plus `fields` (values written as JSON). */
function entry(host: LabHost, fields: Record<string, unknown> = {}): string {
  const lines = { name: host.name, address: host.address, user: host.user, key: lab.clientKey, ...fields };
  return Object.entries(lines)
    .map(([key, value], index) => `${index === 0 ? '  - ' : '    '}${key}: ${JSON.stringify(value)}`)
    .join('\n');
}

function ownTempDir(prefix: string): string {
  const dir = tempDir(prefix);
  madeDirs.push(dir);
  return dir;
}

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Runs a command of the test's own as root (ip, ssh-keygen); throws with its stderr if it fails. */
function root(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(command, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...env, PATH: `${env.PATH ?? ''}:/usr/sbin:/sbin` },
  });
}

/** Every process of the host's user, each with its real argv from /proc (not ps's space-joined rendering). */
async function hostArgvs(host: LabHost): Promise<{ pid: number; argv: string[] }[]> {
  const processes = await host.processes();
  return processes.flatMap(({ pid }) => {
    try {
      return [{ pid, argv: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1) }];
    } catch {
      return []; // Exited since ps listed it.
    }
  });
}

interface ListedWorker {
  readonly capacity: { readonly name: string; readonly labels: Readonly<Record<string, string>> };
}

/** The host's one worker once it heartbeats to Temporal, as `sweep workers` lists it. */
function registered(host: LabHost, pool: string): Promise<ListedWorker> {
  return until(`${host.name}'s worker in pool ${pool}`, async () => {
    const listed = await sweep(['workers', '--pool', pool, '--json']);
    const workers = JSON.parse(listed.stdout || '[]') as ListedWorker[];
    return workers.find((worker) => worker.capacity.name === `${host.name}-cpu`);
  });
}

async function downAndGone(host: LabHost, file: string): Promise<void> {
  const down = await sweep(hostsArgs('down', file));
  assert.equal(down.code, 0, down.stderr);
  await until(`${host.name} to have no process`, async () =>
    (await host.processes()).length === 0 ? true : undefined,
  );
  assert.equal((await host.run(['test', '-e', join(host.home, '.sweep')])).code, 1, "Sweep's state is removed");
}

before(async () => {
  lab = await startSshLab([
    { name: 'jump' },
    { name: 'behind' },
    { name: 'agent' },
    { name: 'quote' },
    { name: 'secret' },
    { name: 'klass' },
  ]);
  ({ stop: stopServer, address: serverAddress } = await startLabServer(lab));
  home = ownTempDir('access-home');
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  const [jump, behind] = lab.hosts as [LabHost, LabHost];
  writeFileSync(
    join(home, '.ssh', 'config'),
    [
      'Host gpubox',
      `  HostName ${jump.address}`,
      `  User ${jump.user}`,
      `  IdentityFile ${lab.clientKey}`,
      '  Port 22',
      'Host behind',
      `  HostName ${behind.address}`,
      `  User ${behind.user}`,
      `  IdentityFile ${lab.clientKey}`,
      '  ProxyJump gpubox',
      '',
    ].join('\n'),
  );
  project = ownTempDir('access-project');
  chmodSync(project, 0o755);
  writeFileSync(join(project, 'notes.txt'), 'project file\n');
  inventories = ownTempDir('access-inventories');
  const synced = `project_dir: ${JSON.stringify(project)}\n`;

  const quote = lab.hosts[3] as LabHost;
  const quotingPool = `quoting-${randomUUID().slice(0, 8)}`;
  const quotingFile = inventory(
    'quoting.yml',
    `pool: ${quotingPool}\n${synced}hosts:\n${entry(quote, { cpu_slots: 1, remote_dir: REMOTE_DIR, labels: { note: LABEL } })}\n`,
  );
  quoting = { host: quote, file: quotingFile, pool: quotingPool, up: sweep(hostsArgs('up', quotingFile)) };
  const secret = lab.hosts[4] as LabHost;
  const secretsPool = `secrets-${randomUUID().slice(0, 8)}`;
  const secretsFile = inventory(
    'secrets.yml',
    `pool: ${secretsPool}\n${synced}hosts:\n${entry(secret, { cpu_slots: 1 })}\n`,
  );
  // The dev server takes no API keys and ignores the header: the workers connect with it all the same.
  const up = sweep(hostsArgs('up', secretsFile, ['--api-key', API_KEY, '--no-tls']));
  secrets = { host: secret, file: secretsFile, pool: secretsPool, up };

  const klass = lab.hosts[5] as LabHost;
  const classProject = ownTempDir('access-class-project');
  writeFileSync(
    join(classProject, 'probe.py'),
    'import os\n\nclass Probe:\n    def __init__(self, data):\n        self.data = data\n\n' +
      '    def run(self, x):\n        return {"x": x, "data": self.data, "pid": os.getpid(), "cwd": os.getcwd()}\n',
  );
  writeFileSync(join(classProject, 'init.json'), '{"dataset": "toy"}');
  const classPool = `class-${randomUUID().slice(0, 8)}`;
  const classFile = inventory(
    'class.yml',
    `pool: ${classPool}\nproject_dir: ${JSON.stringify(classProject)}\npython: probe:Probe\ninit: init.json\n` +
      `hosts:\n${entry(klass)}\n`,
  );
  classy = {
    host: klass,
    file: classFile,
    pool: classPool,
    project: classProject,
    up: sweep(hostsArgs('up', classFile)),
  };
});

after(async () => {
  // No CLI left talking to hosts that are about to vanish; the lab's teardown kills whatever a failed test left.
  await Promise.all([quoting?.up, secrets?.up, classy?.up]);
  if (agent && agent.child.exitCode === null && agent.child.signalCode === null) await agent.signal('SIGTERM');
  await lab?.dispose();
  await stopServer?.();
  for (const dir of madeDirs) rmSync(dir, { recursive: true, force: true });
});

test('~/.ssh/config aliases resolve, and ProxyJump reaches a host only through the jump host', async () => {
  const [jump, behind] = lab.hosts as [LabHost, LabHost];
  // behind can no longer answer this machine's bridge address (its SYN-ACKs have no route), but still answers
  // its neighbour on the bridge: only a connection made from the jump host gets through.
  root('ip', ['-n', behind.netns, 'route', 'add', 'unreachable', `${lab.serverAddress}/32`]);
  try {
    const direct = inventory('direct.yml', `pool: access\nhosts:\n${entry(behind, { name: 'direct' })}\n`);
    const refused = await sweep(hostsArgs('check', direct, ['--connect-timeout', '1']));
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(
      refused.stderr,
      new RegExp(`^direct: ssh: no answer from ${escaped(behind.address)}:22 within 1 s`, 'm'),
    );

    const file = inventory('aliases.yml', 'pool: access\nhosts:\n  - address: gpubox\n  - address: behind\n');
    const listed = await sweep(['hosts', 'list', file, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const resolved = (JSON.parse(listed.stdout) as Record<string, unknown>[]).map(
      ({ name, address, port, user, keyFiles, proxyJump }) => ({ name, address, port, user, keyFiles, proxyJump }),
    );
    assert.deepEqual(resolved, [
      {
        name: 'gpubox',
        address: jump.address,
        port: 22,
        user: jump.user,
        keyFiles: [lab.clientKey],
        proxyJump: undefined,
      },
      {
        name: 'behind',
        address: behind.address,
        port: 22,
        user: behind.user,
        keyFiles: [lab.clientKey],
        proxyJump: 'gpubox',
      },
    ]);

    const check = await sweep(hostsArgs('check', file, ['--json']));
    assert.equal(check.code, 0, check.stderr);
    const reports = JSON.parse(check.stdout) as { host: string; ok: boolean; probe: { home: string } }[];
    // Each alias logged in as its own user on its own host.
    assert.deepEqual(
      reports.map((report) => [report.host, report.ok, report.probe.home]),
      [
        ['gpubox', true, jump.home],
        ['behind', true, behind.home],
      ],
    );
  } finally {
    root('ip', ['-n', behind.netns, 'route', 'del', 'unreachable', `${lab.serverAddress}/32`]);
  }
});

test('a passphrase key is refused with what to do, then works through a real ssh agent', async () => {
  const host = lab.hosts[2] as LabHost;
  const keys = ownTempDir('access-keys');
  const key = join(keys, 'id_locked');
  const passphrase = `pp-${randomUUID()}`;
  root('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'sweep-access-locked', '-f', key]);
  host.authorize(readFileSync(`${key}.pub`, 'utf8'));

  const locked = inventory('locked.yml', `pool: access\nhosts:\n${entry(host, { name: 'locked', key })}\n`);
  const refused = await sweep(hostsArgs('check', locked));
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(
    refused.stderr,
    new RegExp(
      `^locked: ssh: no key to offer for user ${host.user}: key ${escaped(key)} has a passphrase: ` +
        `load it into your ssh agent \\(ssh-add ${escaped(key)}\\)$`,
      'm',
    ),
  );

  const socket = join(keys, 'agent.sock');
  agent = startProcess('ssh-agent', ['-D', '-a', socket]);
  await until('the ssh agent to listen', () => (existsSync(socket) ? true : undefined), 10_000);
  // ssh-add asks the askpass program, never a terminal: the passphrase goes from this script to ssh-add alone,
  // which hands the agent the decrypted key.
  const askpass = join(keys, 'askpass');
  writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' '${passphrase}'\n`, { mode: 0o700 });
  const agentEnv = { SSH_AUTH_SOCK: socket, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force' };
  root('ssh-add', ['-q', key], { ...process.env, ...agentEnv });
  assert.match(root('ssh-add', ['-l'], { ...process.env, SSH_AUTH_SOCK: socket }), /sweep-access-locked/);

  // No key and no IdentityFile for this address: the agent's key is the only one offered.
  const viaAgent = inventory(
    'agent.yml',
    `pool: access\nhosts:\n  - {name: unlocked, address: ${host.address}, user: ${host.user}, agent: true}\n`,
  );
  const listed = await sweep(['hosts', 'list', viaAgent, '--json']);
  assert.deepEqual(
    (JSON.parse(listed.stdout) as { keyFiles: string[]; agent: boolean }[]).map((h) => [h.keyFiles, h.agent]),
    [[[], true]],
  );
  const check = await sweep(hostsArgs('check', viaAgent), { SSH_AUTH_SOCK: socket });
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /^unlocked +ok /m);
  // Doing what the refusal said is enough: the inventory that names the key file, run again with the agent.
  const keyInAgent = await sweep(hostsArgs('check', locked), { SSH_AUTH_SOCK: socket });
  assert.equal(keyInAgent.code, 0, keyInAgent.stderr);

  await agent.signal('SIGTERM');
  assert.equal(existsSync(socket), false, 'the agent is gone with its socket');
  for (const { args, env } of invocations) {
    assert.ok(!JSON.stringify({ args, env }).includes(passphrase), `passphrase given to sweep ${args.join(' ')}`);
  }
  for (const result of [refused, check, keyInAgent]) assert.ok(!(result.stdout + result.stderr).includes(passphrase));
  for (const file of [locked, viaAgent]) assert.ok(!readFileSync(file, 'utf8').includes(passphrase));
});

test('labels and remote_dir full of shell syntax reach the host as plain words', async () => {
  const { host, file, pool } = quoting;
  const up = await quoting.up;
  assert.equal(up.code, 0, up.stderr);

  // `~/pwned4)` has a slash in it, so the project is two directories down: `it's $(touch ~` and `pwned4)`.
  const projectDir = join(host.home, 'my dir', "it's $(touch ~", 'pwned4)');
  const synced = await host.run(['find', join(host.home, 'my dir'), '-name', 'notes.txt']);
  assert.deepEqual(synced.stdout.split('\n').filter(Boolean), [join(projectDir, 'notes.txt')]);
  assert.equal((await host.run(['cat', join(projectDir, 'notes.txt')])).stdout, 'project file\n');

  const labelArg = `note=${LABEL}`;
  const workers = JSON.parse((await host.run(['cat', join(host.home, '.sweep', 'workers.json')])).stdout) as {
    workers: { name: string; argv: string[]; cwd: string }[];
  };
  assert.deepEqual(
    workers.workers.map((worker) => [worker.name, worker.argv.includes(labelArg), worker.cwd]),
    [[`${host.name}-cpu`, true, projectDir]],
  );
  const worker = await registered(host, pool);
  assert.equal(worker.capacity.labels.note, LABEL);
  const running = (await hostArgvs(host)).filter(({ argv }) => argv.includes('worker'));
  assert.equal(running.length, 1, JSON.stringify(running));
  assert.ok(running[0]?.argv.includes(labelArg), JSON.stringify(running[0]?.argv));

  // `pwned[0-9]`, not `pwned*`: the project directory's own `pwned4)` is meant to be there.
  const pwned = await host.run(['find', host.home, '-name', 'pwned[0-9]']);
  assert.equal(pwned.code, 0, pwned.stderr);
  assert.equal(pwned.stdout, '', 'nothing in the inventory ran as a command on the host');
  assert.equal(root('find', [home, project, inventories, '-name', 'pwned[0-9]']), '', 'nor here');

  await downAndGone(host, file);
  assert.equal((await host.run(['cat', join(projectDir, 'notes.txt')])).stdout, 'project file\n');
});

test('an API key lands in one 0600 file on the host: in no command line, log or other file', async () => {
  const { host, file, pool } = secrets;
  const up = await secrets.up;
  assert.equal(up.code, 0, up.stderr);
  assert.ok(!(up.stdout + up.stderr).includes(API_KEY), up.stdout + up.stderr);
  await registered(host, pool);

  const connection = join(host.home, '.sweep', 'connection.json');
  assert.equal((await host.run(['stat', '-c', '%a', connection])).stdout.trim(), '600');
  const settings = JSON.parse((await host.run(['cat', connection])).stdout) as { apiKey?: string; tls?: boolean };
  assert.deepEqual([settings.apiKey, settings.tls], [API_KEY, false]);

  const argvs = await hostArgvs(host);
  assert.ok(
    argvs.some(({ argv }) => argv.includes('worker')),
    `the worker runs: ${JSON.stringify(argvs)}`,
  );
  for (const { pid, argv } of argvs) assert.ok(!argv.join(' ').includes(API_KEY), `pid ${pid}: ${argv.join(' ')}`);
  const logs = await host.run(['ls', join(host.home, '.sweep', 'logs')]);
  assert.deepEqual(logs.stdout.split('\n').filter(Boolean).sort(), [`${host.name}-cpu.log`, 'supervisor.log']);
  const holding = await host.run(['grep', '-rlF', API_KEY, host.home]);
  assert.deepEqual(holding.stdout.split('\n').filter(Boolean), [connection], holding.stderr);

  await downAndGone(host, file);
});

test('python: and init: in the inventory: the host runs the worker class from its synced project', async () => {
  const { host, file, pool, project: classProject } = classy;
  const up = await classy.up;
  assert.equal(up.code, 0, up.stderr);
  const worker = await until(`${host.name}'s class worker`, async () => {
    const listed = await sweep(['workers', '--pool', pool, '--json']);
    return (JSON.parse(listed.stdout || '[]') as ListedWorker[]).find((listedWorker) =>
      listedWorker.capacity.labels.worker_class?.startsWith('probe:Probe@'),
    );
  });
  assert.equal(worker.capacity.name, `${host.name}-cpu`);
  const spec = join(classProject, 'probe.yml');
  writeFileSync(spec, 'worker_class: probe:Probe\nparameters:\n  x: [1, 2, 3]\n');
  // Started where the project is: the class file there has the version the host's copy has.
  const started = await runSweep(['start', spec, '--pool', pool, '--wait'], {
    cwd: classProject,
    env: { ...process.env, HOME: home, TEMPORAL_ADDRESS: serverAddress },
  });
  assert.equal(started.code, 0, started.stderr);
  const sweepId = started.stdout.trim().split('\n')[0] ?? '';
  const results = await sweep(['results', sweepId, '--format', 'json']);
  const values = results.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { value: { x: number; data: unknown; pid: number; cwd: string } }).value);
  assert.deepEqual(
    values.map((value) => [value.x, value.data]),
    [1, 2, 3].map((x) => [x, { dataset: 'toy' }]),
  );
  assert.equal(new Set(values.map((value) => value.pid)).size, 1, 'one process ran every trial');
  assert.equal(values[0]?.cwd, join(host.home, 'sweep'), "the host's project copy");
  await downAndGone(host, file);
});
