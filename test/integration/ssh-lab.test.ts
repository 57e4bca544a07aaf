import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startSshLab, type CommandResult, type LabHost, type SshLab } from '../helpers/ssh-lab.js';

let lab: SshLab;
let hosta: LabHost;
let hostb: LabHost;
let fakeBin: string;

before(async () => {
  // A directory for pathPrepend, as a test would put a fake nvidia-smi there; the host's user must reach it.
  fakeBin = mkdtempSync(join(tmpdir(), 'sweep-ssh-lab-test-'));
  chmodSync(fakeBin, 0o755);
  writeFileSync(join(fakeBin, 'lab-probe'), '#!/bin/sh\necho "probe on $(hostname -I)"\n', { mode: 0o755 });
  lab = await startSshLab([
    { name: 'hosta', env: { SWEEP_LAB_MARK: 'a b/c', SECOND: '2' }, pathPrepend: [fakeBin] },
    { name: 'hostb', withoutNode: true },
  ]);
  [hosta, hostb] = lab.hosts as [LabHost, LabHost];
});

after(async () => {
  await lab?.dispose();
  rmSync(fakeBin, { recursive: true, force: true });
});

/** The system OpenSSH client, strictly: only our key, only our known_hosts, no user config, never a prompt. */
function ssh(host: LabHost, command: string, options: { key?: string; connectTimeout?: number } = {}) {
  const args = [
    '-F',
    '/dev/null',
    '-i',
    options.key ?? lab.clientKey,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    `UserKnownHostsFile=${lab.knownHosts}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    `ConnectTimeout=${options.connectTimeout ?? 5}`,
    '-p',
    String(host.port),
    `${host.user}@${host.address}`,
    command,
  ];
  return new Promise<CommandResult>((resolve, reject) => {
    const child = spawn('ssh', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('ssh sessions get the configured PATH and environment', async () => {
  const [a, b] = await Promise.all([
    ssh(hosta, 'echo "$PATH"; echo "$SWEEP_LAB_MARK"; echo "$SECOND"; lab-probe; id -un; pwd'),
    ssh(hostb, 'echo "$PATH"; echo "${SWEEP_LAB_MARK:-unset}"'),
  ]);
  assert.equal(a.code, 0, a.stderr);
  const [path, mark, second, probe, user, pwd] = a.stdout.trimEnd().split('\n');
  assert.ok(path?.startsWith(`${fakeBin}:`), path);
  assert.ok(path?.split(':').includes('/usr/bin'), path);
  assert.equal(mark, 'a b/c');
  assert.equal(second, '2');
  assert.equal(probe?.trim(), `probe on ${hosta.address}`);
  assert.equal(user, hosta.user);
  assert.equal(pwd, hosta.home);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(b.stdout, `${join(lab.dir, 'nodeless-bin')}\nunset\n`);
});

test('node is on PATH except on a withoutNode host', async () => {
  const [a, b] = await Promise.all([
    ssh(hosta, 'command -v node && node -e "console.log(1 + 1)"'),
    ssh(hostb, 'command -v node; echo "node: $?"; command -v ls >/dev/null && echo ls-found'),
  ]);
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stdout, /\/node\n2\n$/);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout, /^node: [1-9]\d*\nls-found\n$/);
});

test('a key authorised nowhere is refused', async () => {
  const result = await ssh(hosta, 'true', { key: lab.wrongKey });
  assert.equal(result.code, 255);
  assert.match(result.stderr, /Permission denied \(publickey\)/);
});

test('run and processes see what runs as the host user inside its namespace', async () => {
  const id = await hosta.run(['sh', '-c', 'id -un; hostname -I; echo "$SWEEP_LAB_MARK"']);
  assert.deepEqual(id, { code: 0, stdout: `${hosta.user}\n${hosta.address} \na b/c\n`, stderr: '' });
  assert.deepEqual(await hosta.processes(), []);
  const started = await hosta.run(['sh', '-c', 'sleep 300 >/dev/null 2>&1 & echo $!']);
  const pid = Number(started.stdout.trim());
  assert.deepEqual(await hosta.processes(), [{ pid, args: 'sleep 300' }]);
  assert.equal((await hostb.run(['sh', '-c', 'exit 3'])).code, 3);
});

test('cutOff stops connections to that host until restore', async () => {
  await hosta.cutOff();
  try {
    const [cut, other] = await Promise.all([ssh(hosta, 'true', { connectTimeout: 2 }), ssh(hostb, 'echo up')]);
    assert.equal(cut.code, 255);
    assert.match(cut.stderr, /timed out/);
    assert.equal(other.stdout, 'up\n');
  } finally {
    await hosta.restore();
  }
  const back = await ssh(hosta, 'echo back');
  assert.equal(back.stdout, 'back\n', back.stderr);
});

test('dispose removes namespaces, users, links, processes and files, and is idempotent', async () => {
  const [sleeper] = await hosta.processes();
  assert.ok(sleeper, 'the sleep from the run test is still there');
  const k = lab.bridge.slice('swbr'.length);
  const lock = `/run/sweep-ssh-lab/${k}`;
  assert.ok(existsSync(lock));
  await lab.dispose();
  await lab.dispose();
  const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  for (const host of lab.hosts) {
    assert.ok(!netns.split('\n').some((line) => line.split(' ')[0] === host.netns), netns);
    assert.notEqual(spawnSync('getent', ['passwd', host.user]).status, 0, `${host.user} still exists`);
    assert.notEqual(spawnSync('getent', ['group', host.user]).status, 0, `group ${host.user} still exists`);
  }
  const links = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout;
  assert.doesNotMatch(links, new RegExp(`^\\d+: (swbr${k}|sw${k}v\\d+)[:@]`, 'm'));
  // Reparented to pid 1, the killed sleep may linger as a zombie until init reaps it: dead all the same.
  assert.ok(!existsSync(`/proc/${sleeper.pid}`) || /^State:\s+Z/m.test(procStatus(sleeper.pid)));
  assert.ok(!existsSync(lab.dir));
  assert.ok(!existsSync(lock));
});

function procStatus(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return 'State:\tZ (gone)';
  }
}
