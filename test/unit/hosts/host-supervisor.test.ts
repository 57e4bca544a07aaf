import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, createReadStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  isAlive,
  markedProcesses,
  systemdUnit,
  type StatusResult,
  type WorkerSpec,
} from '../../../src/hosts/remote/host-agent.js';
import { connectionEnv, parseConnection } from '../../../src/hosts/remote/host-supervisor.js';
import { tempDir } from '../../helpers/temporal.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const AGENT_JS = here('../../../dist/hosts/remote/host-agent.js');
const SUPERVISOR_JS = here('../../../dist/hosts/remote/host-supervisor.js');

/** The compiled agent as the CLI runs it over ssh; resolves with its one JSON line. */
async function agent(command: string, argument: unknown, env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, ['--input-type=module', '-', command, JSON.stringify(argument)], { env });
  createReadStream(AGENT_JS).pipe(child.stdin);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((done) => child.once('close', done));
  assert.match(stdout, /^[^\n]+\n$/, `${command}: one JSON line expected; stdout ${stdout}; stderr ${stderr}`);
  const result = JSON.parse(stdout) as Record<string, unknown>;
  assert.equal(code, result.ok === true ? 0 : 1, stdout);
  return result;
}

/** Polls until `check` returns something, or fails saying what it waited for. */
async function until<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await check();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((wake) => setTimeout(wake, 50));
  }
}

/** A worker that stays up: a `node -e` loop that may write its environment or start a grandchild first. */
function loopWorker(name: string, cwd: string, setup = '', ...extra: string[]): WorkerSpec {
  return { name, cwd, argv: [process.execPath, '-e', `${setup}; setInterval(() => {}, 1000);`, ...extra] };
}

test('the systemd unit runs the supervisor with this node, reloads with SIGHUP and stops its whole cgroup', () => {
  assert.equal(
    systemdUnit({ node: '/opt/node 20/bin/node', supervisor: '/home/u/sweep/dist/x.js', stateDir: '/home/u/.sweep%1' }),
    [
      '[Unit]',
      'Description=Sweep workers (/home/u/.sweep%%1)',
      '',
      '[Service]',
      'Type=simple',
      'Environment=SWEEP_HOST_STATE=/home/u/.sweep%%1',
      'ExecStart="/opt/node 20/bin/node" /home/u/sweep/dist/x.js /home/u/.sweep%%1',
      'ExecReload=/bin/kill -HUP $MAINPID',
      'Restart=always',
      'RestartSec=5',
      'KillMode=control-group',
      'TimeoutStopSec=45',
      '',
      '[Install]',
      'WantedBy=default.target',
      '',
    ].join('\n'),
  );
  assert.match(
    systemdUnit({ node: '/usr/bin/node', supervisor: '/a "b"/$HOME\\x.js', stateDir: '/s' }),
    /^ExecStart=\/usr\/bin\/node "\/a \\"b\\"\/\$\$HOME\\\\x\.js" \/s$/m,
  );
  assert.throws(() => systemdUnit({ node: '/n', supervisor: '/a\nb', stateDir: '/s' }), /cannot put/);
});

test('connection.json becomes TEMPORAL_* variables; an unset tls leaves the workers to imply it', () => {
  assert.deepEqual(
    connectionEnv(
      parseConnection({
        address: 'temporal.lab:7233',
        namespace: 'ml',
        apiKey: 'k',
        tls: true,
        tlsServerName: 'temporal',
        tlsCaPath: '/ca.pem',
        tlsCertPath: '/c.pem',
        tlsKeyPath: '/k.pem',
      }),
    ),
    {
      TEMPORAL_ADDRESS: 'temporal.lab:7233',
      TEMPORAL_NAMESPACE: 'ml',
      TEMPORAL_API_KEY: 'k',
      TEMPORAL_TLS: '1',
      TEMPORAL_TLS_SERVER_NAME: 'temporal',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/ca.pem',
      TEMPORAL_TLS_CLIENT_CERT_PATH: '/c.pem',
      TEMPORAL_TLS_CLIENT_KEY_PATH: '/k.pem',
    },
  );
  assert.deepEqual(connectionEnv(parseConnection({ address: 'h:1', namespace: 'n', tls: false })), {
    TEMPORAL_ADDRESS: 'h:1',
    TEMPORAL_NAMESPACE: 'n',
    TEMPORAL_TLS: '0',
  });
  assert.deepEqual(connectionEnv(parseConnection({ address: 'h:1', namespace: 'n' })), {
    TEMPORAL_ADDRESS: 'h:1',
    TEMPORAL_NAMESPACE: 'n',
  });
  assert.throws(
    () => parseConnection({ address: 'h:1', tls: 'yes', apikey: 'x' }),
    /^Error: connection\.json: tls: expected a boolean; apikey: unknown key; namespace: missing$/,
  );
});

test('start, status and stop: restarts counted, a reload restarts only what changed, stop leaves nothing', async () => {
  const home = tempDir('supervisor-home');
  const stateDir = join(home, '.sweep');
  const project = join(home, 'sweep');
  mkdirSync(project);
  // No usable user systemd here, whatever the machine running the tests has: the supervisor runs detached.
  const bin = join(home, 'bin');
  mkdirSync(bin);
  for (const tool of ['systemctl', 'loginctl']) {
    writeFileSync(join(bin, tool), '#!/bin/sh\nexit 1\n');
    chmodSync(join(bin, tool), 0o755);
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    PATH: [bin, process.env.PATH].join(delimiter),
    // Left over from wherever the supervisor starts; connection.json's settings must replace it, not add to it.
    TEMPORAL_TLS_SERVER_NAME: 'inherited.example',
  };
  delete env.SWEEP_HOST_STATE;
  mkdirSync(stateDir, { mode: 0o700 });
  writeFileSync(
    join(stateDir, 'connection.json'),
    JSON.stringify({ address: 'temporal.lab:7233', namespace: 'ml', apiKey: 'secret-key', tls: true }),
    { mode: 0o600 },
  );

  const envDump = join(home, 'gpu0-env.json');
  const grandchildPid = join(home, 'grandchild.pid');
  const gpu0 = loopWorker(
    'hosta-gpu0',
    project,
    `require('fs').writeFileSync(${JSON.stringify(envDump)}, JSON.stringify(process.env))`,
    join(stateDir, 'bundles', 'b1', 'bin', 'sweep.js'),
  );
  // A trial that leaves its worker's process group: only the sweep for the state marker can find it.
  const gpu1 = loopWorker(
    'hosta-gpu1',
    project,
    `const c = require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], ` +
      `{ detached: true, stdio: 'ignore' }); require('fs').writeFileSync(${JSON.stringify(grandchildPid)}, String(c.pid))`,
  );
  const startArgument = (workers: WorkerSpec[], revision = 'r1') => ({
    stateDir: '~/.sweep',
    supervisor: SUPERVISOR_JS,
    revision,
    workers,
  });
  const statusOf = async () => (await agent('status', { stateDir: '~/.sweep' }, env)) as unknown as StatusResult;
  const worker = (status: StatusResult, name: string) => status.workers.find((w) => w.name === name);
  const allRunning = async (names: string[]) => {
    const status = await statusOf();
    return names.every((name) => worker(status, name)?.running) ? status : undefined;
  };

  try {
    const started = await agent('start', startArgument([gpu0, gpu1]), env);
    assert.equal(started.ok, true, JSON.stringify(started));
    assert.equal(started.mode, 'supervisor');
    assert.equal(started.changed, true);
    const supervisorPid = started.pid as number;
    const first = await until('both workers up', () => allRunning(['hosta-gpu0', 'hosta-gpu1']));
    assert.deepEqual(first.supervisor, { running: true, pid: supervisorPid, mode: 'supervisor' });
    assert.deepEqual(
      first.workers.map(({ name, running, restarts }) => ({ name, running, restarts })),
      [
        { name: 'hosta-gpu0', running: true, restarts: 0 },
        { name: 'hosta-gpu1', running: true, restarts: 0 },
      ],
    );
    assert.equal(worker(first, 'hosta-gpu0')?.bundle, 'b1');
    assert.equal(worker(first, 'hosta-gpu1')?.bundle, undefined);
    const gpu0Pid = worker(first, 'hosta-gpu0')?.pid ?? 0;
    const gpu1Pid = worker(first, 'hosta-gpu1')?.pid ?? 0;
    assert.equal(readFileSync(join(stateDir, 'run', 'hosta-gpu0.pid'), 'utf8').trim(), String(gpu0Pid));

    const workerEnv = await until('the environment dump', () =>
      existsSync(envDump) ? (JSON.parse(readFileSync(envDump, 'utf8')) as Record<string, string>) : undefined,
    );
    assert.equal(workerEnv.TEMPORAL_ADDRESS, 'temporal.lab:7233');
    assert.equal(workerEnv.TEMPORAL_NAMESPACE, 'ml');
    assert.equal(workerEnv.TEMPORAL_API_KEY, 'secret-key');
    assert.equal(workerEnv.TEMPORAL_TLS, '1');
    assert.equal(workerEnv.TEMPORAL_TLS_SERVER_NAME, undefined);
    assert.equal(workerEnv.SWEEP_HOST_STATE, stateDir);
    assert.doesNotMatch(readFileSync(`/proc/${gpu0Pid}/cmdline`, 'utf8'), /secret-key/);
    assert.doesNotMatch(readFileSync(`/proc/${supervisorPid}/cmdline`, 'utf8'), /secret-key/);

    const again = await agent('start', startArgument([gpu0, gpu1]), env);
    assert.deepEqual(again, { ok: true, mode: 'supervisor', pid: supervisorPid, changed: false });
    const second = spawnSync(process.execPath, [SUPERVISOR_JS, stateDir], { env, encoding: 'utf8', timeout: 10_000 });
    assert.equal(second.status, 1);
    assert.match(second.stderr, new RegExp(`another supervisor \\(pid ${supervisorPid}\\) already runs`));

    process.kill(gpu0Pid, 'SIGKILL');
    const restarted = await until('hosta-gpu0 restarted', async () => {
      const status = await statusOf();
      const gpu = worker(status, 'hosta-gpu0');
      return gpu?.running && gpu.pid !== gpu0Pid ? status : undefined;
    });
    const afterKill = worker(restarted, 'hosta-gpu0');
    assert.equal(afterKill?.restarts, 1);
    assert.equal(afterKill?.lastExit?.signal, 'SIGKILL');
    assert.equal(worker(restarted, 'hosta-gpu1')?.pid, gpu1Pid);
    const restartedPid = afterKill?.pid ?? 0;

    const changedGpu0 = { ...gpu0, argv: [...gpu0.argv, 'version-2'] };
    const reloaded = await agent('start', startArgument([changedGpu0, gpu1]), env);
    assert.deepEqual(reloaded, { ok: true, mode: 'supervisor', pid: supervisorPid, changed: true });
    const afterReload = await until('hosta-gpu0 replaced', async () => {
      const status = await statusOf();
      const gpu = worker(status, 'hosta-gpu0');
      return gpu?.running && gpu.pid !== restartedPid ? status : undefined;
    });
    assert.equal(worker(afterReload, 'hosta-gpu0')?.restarts, 0, 'a changed worker is a new one');
    assert.match(readFileSync(`/proc/${worker(afterReload, 'hosta-gpu0')?.pid}/cmdline`, 'utf8'), /version-2/);
    assert.deepEqual(worker(afterReload, 'hosta-gpu1'), worker(first, 'hosta-gpu1'), 'hosta-gpu1 was left alone');
    assert.equal(isAlive(gpu1Pid), true);

    const grandchild = Number(readFileSync(grandchildPid, 'utf8'));
    assert.equal(isAlive(grandchild), true);

    // Only connection.json changed (uploaded apart): the new revision makes the supervisor reload, and every
    // worker restarts with the new settings.
    writeFileSync(join(stateDir, 'connection.json'), JSON.stringify({ address: 'other.lab:7233', namespace: 'ml2' }));
    rmSync(envDump);
    const reconnected = await agent('start', startArgument([changedGpu0, gpu1], 'r2'), env);
    assert.deepEqual(reconnected, { ok: true, mode: 'supervisor', pid: supervisorPid, changed: true });
    await until('hosta-gpu1 restarted for the new connection', async () => {
      const status = await statusOf();
      const gpu = worker(status, 'hosta-gpu1');
      return gpu?.running && gpu.pid !== gpu1Pid && worker(status, 'hosta-gpu0')?.running ? status : undefined;
    });
    const newEnv = await until('the new environment dump', () =>
      existsSync(envDump) ? (JSON.parse(readFileSync(envDump, 'utf8')) as Record<string, string>) : undefined,
    );
    assert.equal(newEnv.TEMPORAL_ADDRESS, 'other.lab:7233');
    assert.equal(newEnv.TEMPORAL_NAMESPACE, 'ml2');
    assert.equal(newEnv.TEMPORAL_API_KEY, undefined, 'a setting dropped from connection.json is gone');
    assert.equal(newEnv.TEMPORAL_TLS, undefined);
    const secondGrandchild = await until('the new grandchild', () => {
      const pid = Number(readFileSync(grandchildPid, 'utf8'));
      return pid !== grandchild ? pid : undefined;
    });
    const refused = await agent('stop', { stateDir: '~/.sweep', purge: ['~/sweep', '/'] }, env);
    assert.equal(refused.ok, false);
    assert.equal(refused.step, 'validate');
    assert.match(String(refused.error), /refusing to remove \//);
    assert.equal(isAlive(supervisorPid), true, 'a refused stop stops nothing');

    const stopped = await agent('stop', { stateDir: '~/.sweep', purge: ['~/sweep'] }, env);
    assert.equal(stopped.ok, true);
    assert.deepEqual(
      [...(stopped.killed as number[])].sort(),
      [grandchild, secondGrandchild].sort(),
      'only the grandchildren escaped the supervisor',
    );
    assert.equal(isAlive(supervisorPid), false);
    assert.equal(isAlive(grandchild), false);
    assert.equal(isAlive(secondGrandchild), false);
    assert.deepEqual(markedProcesses(stateDir), []);
    assert.equal(existsSync(stateDir), false);
    assert.equal(existsSync(project), false);
    assert.deepEqual(await statusOf(), { ok: true, supervisor: { running: false }, workers: [] });
  } finally {
    for (const pid of markedProcesses(stateDir)) process.kill(pid, 'SIGKILL');
  }
});

test('a supervisor that was killed is replaced, and the workers it left are stopped before they run twice', async () => {
  const home = tempDir('supervisor-killed');
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, PATH: join(home, 'bin') };
  delete env.SWEEP_HOST_STATE;
  mkdirSync(join(home, 'bin'));
  const stateDir = join(home, 'state');
  const argument = { stateDir, supervisor: SUPERVISOR_JS, workers: [loopWorker('solo', home)] };
  const soloPid = async () => {
    const status = (await agent('status', { stateDir }, env)) as unknown as StatusResult;
    const solo = status.workers[0];
    return solo?.running ? solo.pid : undefined;
  };
  try {
    const first = await agent('start', argument, env);
    assert.equal(first.ok, true, JSON.stringify(first));
    const orphan = await until('solo up', soloPid);
    process.kill(first.pid as number, 'SIGKILL');
    await until('the supervisor gone', () => (isAlive(first.pid as number) ? undefined : true));
    assert.equal(isAlive(orphan), true, 'its worker outlives it (its own process group)');

    const second = await agent('start', argument, env);
    assert.equal(second.ok, true, JSON.stringify(second));
    assert.notEqual(second.pid, first.pid);
    assert.equal(second.changed, false);
    const replacement = await until('solo up again', async () => {
      const pid = await soloPid();
      return pid !== undefined && pid !== orphan ? pid : undefined;
    });
    assert.equal(isAlive(orphan), false, 'the orphan was stopped');
    assert.deepEqual(await agent('stop', { stateDir, purge: [] }, env), { ok: true, killed: [] });
    assert.equal(isAlive(replacement), false);
  } finally {
    for (const pid of markedProcesses(stateDir)) process.kill(pid, 'SIGKILL');
  }
});
