import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadInventory } from '../../../src/hosts/inventory.js';
import { sshHostConfig } from '../../../src/hosts/ssh-config.js';
import { thrownProblems } from '../../helpers/config-error.js';
import { tempDir } from '../../helpers/temporal.js';

const SSH_CONFIG = `
Host gpu-box
  HostName 10.0.0.7
  User ben
  Port 2222
  IdentityFile ~/.ssh/lab_%h
  ProxyJump bastion

Host *.lab !skip.lab
  User labuser

Match host never
  User ignored

Host *
  IdentityFile ~/.ssh/id_ed25519
  User fallback
`;

test('~/.ssh/config: the first value wins, patterns with * and !, IdentityFile tokens, Match skipped', () => {
  assert.deepEqual(sshHostConfig(SSH_CONFIG, 'gpu-box', '/home/me'), {
    hostName: '10.0.0.7',
    user: 'ben',
    port: 2222,
    identityFiles: ['/home/me/.ssh/lab_10.0.0.7', '/home/me/.ssh/id_ed25519'],
    proxyJump: 'bastion',
  });
  assert.equal(sshHostConfig(SSH_CONFIG, 'a.lab', '/home/me').user, 'labuser');
  assert.equal(sshHostConfig(SSH_CONFIG, 'skip.lab', '/home/me').user, 'fallback');
  assert.deepEqual(sshHostConfig('', 'x', '/home/me'), { identityFiles: [] });
});

test('hosts.yml: defaults, aliases resolved through ~/.ssh/config, the agent where no key is given', () => {
  const dir = tempDir('inventory');
  const file = join(dir, 'hosts.yml');
  writeFileSync(
    file,
    [
      'pool: lab',
      'hosts:',
      '  - address: gpu-box',
      '    gpus: [0, 1]',
      '    labels: { gpu_model: A100, rack: 2 }',
      '  - name: cpu1',
      '    address: 10.0.0.9',
      '    key: ~/.ssh/cpu_key',
      '    gpus: all',
      '    max_gpus: 2',
      '    min_gpu_memory: 10GiB',
      '    remote_dir: /scratch/sweep',
    ].join('\n'),
  );
  const [box, cpu] = loadInventory([file], { home: '/home/me', sshConfig: SSH_CONFIG, localUser: 'me' });
  assert.deepEqual(box, {
    name: 'gpu-box',
    address: '10.0.0.7',
    port: 2222,
    user: 'ben',
    keyFiles: ['/home/me/.ssh/lab_10.0.0.7', '/home/me/.ssh/id_ed25519'],
    agent: true,
    proxyJump: 'bastion',
    gpus: [0, 1],
    labels: { gpu_model: 'A100', rack: '2' },
    pool: 'lab',
    remoteDir: '~/sweep',
    node: 'node',
    projectDir: dir,
    include: [],
    exclude: [],
    file,
  });
  assert.equal(cpu?.user, 'fallback', 'Host * applies to any name');
  assert.deepEqual(cpu?.keyFiles, ['/home/me/.ssh/cpu_key']);
  assert.equal(cpu?.agent, false);
  assert.equal(cpu?.maxGpus, 2);
  assert.equal(cpu?.remoteDir, '/scratch/sweep');
  assert.ok(cpu?.minGpuMemoryMb !== undefined && cpu.minGpuMemoryMb > 10_000);
});

test('every problem at once, located: hosts.yml:7:11 hosts[1].port, unknown keys, a bad list', () => {
  const dir = tempDir('inventory-bad');
  const file = join(dir, 'hosts.yml');
  writeFileSync(
    file,
    [
      'hosts:',
      '  - address: a',
      '    port: 22',
      '    gpus: [0]',
      '    max_gpus: 1',
      '  - address: b',
      '    port: "seventy"',
      '    adress: typo',
      '  - name: a',
      '    address: c',
    ].join('\n'),
  );
  assert.deepEqual(
    thrownProblems(() => loadInventory([file], { home: dir, sshConfig: '', localUser: 'me' })),
    [
      `${file}:5:5 hosts[0].max_gpus: goes with gpus: all (a list already says which GPUs)`,
      `${file}:7:11 hosts[1].port: expected a port number 1-65535, got "seventy"`,
      `${file}:8:5 hosts[1].adress: unknown key; did you mean "address"?`,
    ],
  );
});

test('ml-scheduler machine files are read as they are, looked up with .yaml and under ~/.local/var/', () => {
  const home = tempDir('inventory-home');
  mkdirSync(join(home, '.local', 'var'), { recursive: true });
  writeFileSync(
    join(home, '.local', 'var', 'machine.yaml'),
    'username: ben\nip: 105.29.123.241\nport: 22\nssh_key_path: ~/.ssh/id_ssh_key\n',
  );
  const dir = tempDir('inventory-cwd');
  writeFileSync(join(dir, 'machine2.yaml'), 'username: ann\nip: 105.29.123.242\n');
  const hosts = loadInventory(['machine', join(dir, 'machine2')], { home, sshConfig: '', localUser: 'me' });
  assert.deepEqual(
    hosts.map((host) => [host.name, `${host.user}@${host.address}:${host.port}`, host.keyFiles, host.agent]),
    [
      ['105.29.123.241', 'ben@105.29.123.241:22', [join(home, '.ssh/id_ssh_key')], false],
      ['105.29.123.242', 'ann@105.29.123.242:22', [], true],
    ],
  );
  assert.deepEqual(
    thrownProblems(() => loadInventory(['nowhere'], { home, sshConfig: '' })),
    [`nowhere: no such file (also looked for nowhere.yaml and under ${join(home, '.local', 'var')})`],
  );
  writeFileSync(join(dir, 'dup.yaml'), 'username: x\nip: 105.29.123.242\n');
  assert.match(
    thrownProblems(() =>
      loadInventory([join(dir, 'machine2.yaml'), join(dir, 'dup.yaml')], { home, sshConfig: '' }),
    )[0] ?? '',
    /host "105\.29\.123\.242" is also in .*machine2\.yaml/,
  );
});

test('what up needs: the project (relative to hosts.yml), its rules, node, CPU slots, the Temporal address hosts use', () => {
  const dir = tempDir('inventory-up');
  const file = join(dir, 'hosts.yml');
  writeFileSync(
    file,
    [
      'project_dir: code',
      'exclude: [data/]',
      'include: [data/small.csv]',
      'temporal_address: 10.0.0.1:7233',
      'hosts:',
      '  - address: 10.0.0.2',
      '    node: /opt/node20/bin/node',
      '    cpu_slots: 4',
      '  - address: 10.0.0.3',
      '    temporal_address: temporal.lab:7233',
    ].join('\n'),
  );
  const [first, second] = loadInventory([file], { home: '/home/me', sshConfig: '', localUser: 'me' });
  assert.deepEqual(
    [first?.projectDir, first?.exclude, first?.include, first?.node, first?.cpuSlots, first?.temporalAddress],
    [join(dir, 'code'), ['data/'], ['data/small.csv'], '/opt/node20/bin/node', 4, '10.0.0.1:7233'],
  );
  assert.deepEqual([second?.node, second?.cpuSlots, second?.temporalAddress], ['node', undefined, 'temporal.lab:7233']);
  writeFileSync(file, 'temporal_address: nowhere\nhosts:\n  - address: 10.0.0.2\n    cpu_slots: -1\n');
  assert.deepEqual(
    thrownProblems(() => loadInventory([file], { home: '/home/me', sshConfig: '' })),
    [
      `${file}:1:19 temporal_address: expected host:port, e.g. 10.0.0.1:7233, got "nowhere"`,
      `${file}:4:16 hosts[0].cpu_slots: must be >= 0, got -1`,
    ],
  );
});

test('python: and init: make the hosts run a worker class; init needs python, and a class runs one trial at a time', () => {
  const dir = tempDir('inventory-class');
  const file = join(dir, 'hosts.yml');
  writeFileSync(
    file,
    'python: trainer:Trainer\ninit: init.json\nhosts:\n  - address: 10.0.0.2\n  - address: 10.0.0.3\n    python: lab.models:Big\n',
  );
  const [first, second] = loadInventory([file], { home: '/home/me', sshConfig: '', localUser: 'me' });
  assert.deepEqual([first?.python, first?.init, second?.python], ['trainer:Trainer', 'init.json', 'lab.models:Big']);
  writeFileSync(
    file,
    'hosts:\n  - address: 10.0.0.2\n    init: init.json\n  - address: 10.0.0.3\n    python: trainer:Trainer\n    cpu_slots: 4\n  - address: 10.0.0.4\n    python: trainer\n',
  );
  const problems = thrownProblems(() => loadInventory([file], { home: '/home/me', sshConfig: '' }));
  assert.equal(problems.length, 3, problems.join('\n'));
  assert.match(
    problems[0] ?? '',
    /hosts\[0\]\.init: the worker class's __init__ data: it needs python: module:Class beside it$/,
  );
  assert.match(problems[1] ?? '', /hosts\[1\]\.cpu_slots: a worker class runs one trial at a time/);
  assert.match(problems[2] ?? '', /hosts\[2\]\.python: expected module:Class/);
});
