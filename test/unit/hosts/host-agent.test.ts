import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { delimiter, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { packFiles, unpackArchive, type ProbeResult } from '../../../src/hosts/remote/host-agent.js';
import { FakeGpus, fakeGpu } from '../../helpers/fake-gpus.js';
import { tempDir } from '../../helpers/temporal.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const AGENT_JS = here('../../../dist/hosts/remote/host-agent.js');
const REMOTE_FILES = [
  AGENT_JS,
  here('../../../dist/hosts/remote/host-supervisor.js'),
  here('../../../src/hosts/remote/host-agent.ts'),
  here('../../../src/hosts/remote/host-supervisor.ts'),
];

interface AgentRun {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** The compiled agent run as the CLI runs it over ssh: its source on stdin, the command and JSON as arguments. */
async function runAgent(command: string, argument: unknown, env: NodeJS.ProcessEnv): Promise<AgentRun> {
  const child = spawn(process.execPath, ['--input-type=module', '-', command, JSON.stringify(argument)], { env });
  createReadStream(AGENT_JS).pipe(child.stdin);
  const stdout: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((done) => child.once('close', done));
  return { code, stdout: Buffer.concat(stdout), stderr };
}

/** The one JSON line a command prints, checked against its exit code. */
async function agentJson(command: string, argument: unknown, env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> {
  const run = await runAgent(command, argument, env);
  const text = run.stdout.toString('utf8');
  assert.match(text, /^[^\n]+\n$/, `${command}: one line expected, got ${JSON.stringify(text)}; stderr: ${run.stderr}`);
  const result = JSON.parse(text) as Record<string, unknown>;
  assert.equal(run.code, result.ok === true ? 0 : 1, `${command}: exit code ${run.code} for ${text}`);
  return result;
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function archiveOf(records: readonly { path: string; data?: string }[], end = true): Buffer {
  const parts = records.flatMap(({ path, data = '' }) => [
    Buffer.from(`${JSON.stringify({ path, mode: 0o644, size: Buffer.byteLength(data) })}\n`),
    Buffer.from(data),
  ]);
  return gzipSync(Buffer.concat([...parts, Buffer.from(end ? '{"end":true}\n' : '')]));
}

function filesUnder(root: string, prefix = ''): string[] {
  return readdirSync(join(root, prefix), { withFileTypes: true })
    .flatMap((entry) => {
      const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      return entry.isDirectory() ? filesUnder(root, path) : [path];
    })
    .sort();
}

/** A host without GPUs or systemd: HOME and PATH of its own (this node is run by absolute path). */
function bareHost(): { home: string; bin: string; env: NodeJS.ProcessEnv } {
  const home = tempDir('agent-home');
  const bin = join(home, 'bin');
  mkdirSync(bin);
  return { home, bin, env: { HOME: home, PATH: bin, USER: 'tester' } };
}

function script(path: string, text: string): void {
  writeFileSync(path, `#!/bin/sh\n${text}\n`);
  chmodSync(path, 0o755);
}

test('the agent imports nothing but node: built-ins, so one file piped over ssh is the program; the supervisor only adds it', () => {
  for (const file of REMOTE_FILES) {
    const text = readFileSync(file, 'utf8');
    const specifiers = [
      ...text.matchAll(/\b(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g),
      ...text.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]/g),
      ...text.matchAll(/\bimport\s+['"]([^'"]+)['"]/g),
    ].map((match) => match[1]);
    assert.ok(specifiers.length > 5, `${file}: found its imports`);
    // The supervisor runs from the bundle, beside the agent: it may share the agent's helpers, nothing else.
    const allowed = file.includes('host-supervisor') ? ['./host-agent.js'] : [];
    assert.deepEqual(
      specifiers.filter((specifier) => !specifier?.startsWith('node:') && !allowed.includes(specifier ?? '')),
      [],
      `${file} imports only node: modules`,
    );
    assert.doesNotMatch(text, /\brequire\s*\(/, `${file} has no require()`);
  }
});

test('probe: a host without nvidia-smi or systemd, Temporal reachable, disk of the nearest existing directory', async () => {
  const { home, env } = bareHost();
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as AddressInfo).port;
  try {
    const result = (await agentJson(
      'probe',
      { temporalAddress: `127.0.0.1:${port}`, dir: '~/sweep/not/yet' },
      env,
    )) as unknown as ProbeResult;
    assert.equal(result.ok, true);
    assert.deepEqual(result.nvidiaSmi, { found: false, code: null, stdout: '', stderr: '' });
    assert.equal(result.systemd, false, 'no systemctl on PATH');
    assert.equal(result.temporal.reachable, true);
    assert.equal(typeof result.temporal.ms, 'number');
    assert.deepEqual(result.disk.path, home);
    assert.ok(result.disk.freeMb > 0);
    assert.ok(result.memory.totalMb > 0 && result.memory.availableMb > 0);
    assert.ok(result.memory.availableMb <= result.memory.totalMb);
    assert.equal(result.node, process.version);
    assert.ok(result.cpus > 0);
    assert.equal(typeof result.hostname, 'string');
    assert.equal(result.platform, process.platform);
    assert.ok(result.distro === null || typeof result.distro === 'string');
  } finally {
    server.close();
  }
});

test('probe: nvidia-smi output comes back raw; user systemd counts only with lingering; a closed port', async () => {
  const gpus = new FakeGpus({ gpus: [fakeGpu(0), fakeGpu(1, { memoryFreeMib: 1000, utilizationPercent: 97 })] });
  const { bin } = bareHost();
  script(join(bin, 'systemctl'), 'echo degraded; exit 1');
  const closed = createServer();
  await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((done) => closed.close(done));
  try {
    const env = (linger: string) => {
      script(join(bin, 'loginctl'), `[ "$1 $2 $3 $4" = "show-user tester -p Linger" ] && echo Linger=${linger}`);
      return { ...gpus.env, USER: 'tester', PATH: [bin, gpus.env.PATH].join(delimiter) };
    };
    const argument = { temporalAddress: `127.0.0.1:${port}`, dir: '/' };
    const result = (await agentJson('probe', argument, env('yes'))) as unknown as ProbeResult;
    assert.deepEqual(result.nvidiaSmi, {
      found: true,
      code: 0,
      stdout:
        '0, GPU-fake-0, NVIDIA A100-SXM4-80GB, 81920, 81920, 0\n1, GPU-fake-1, NVIDIA A100-SXM4-80GB, 81920, 1000, 97\n',
      stderr: '',
    });
    assert.equal(result.systemd, true);
    assert.equal(result.temporal.reachable, false);
    assert.match(result.temporal.error ?? '', /ECONNREFUSED/);
    assert.equal(result.disk.path, '/');

    gpus.breakDriver();
    const broken = (await agentJson('probe', argument, env('no'))) as unknown as ProbeResult;
    assert.equal(broken.nvidiaSmi.found, true);
    assert.equal(broken.nvidiaSmi.code, 9);
    assert.match(broken.nvidiaSmi.stderr, /couldn't communicate with the NVIDIA driver/);
    assert.equal(broken.systemd, false, 'Linger=no');
  } finally {
    gpus.remove();
  }
});

test('a bad command or argument fails as one JSON line naming every problem', async () => {
  const { env } = bareHost();
  assert.deepEqual(await agentJson('frobnicate', {}, env), {
    ok: false,
    error: 'unknown command "frobnicate" (expected one of probe, hashes, unpack, pack, start, status, stop)',
    step: 'usage',
  });
  assert.deepEqual(await agentJson('hashes', { dir: '', paths: ['ok', '../up'], typo: 1 }, env), {
    ok: false,
    error:
      'argument: dir: expected a non-empty string, got ""; paths[1]: archive path "../up": has a ".." segment; ' +
      'typo: unknown key',
    step: 'usage',
  });
});

test('pack, unpack and hashes: a round trip with modes, noOverwrite, removals and the sync record', async () => {
  const { home, env } = bareHost();
  const source = join(home, 'local');
  mkdirSync(join(source, 'sub', 'deep'), { recursive: true });
  const big = randomBytes(3 * 1024 * 1024 + 7);
  writeFileSync(join(source, 'a.txt'), 'alpha\n');
  writeFileSync(join(source, 'sub', 'deep', 'b.bin'), big);
  writeFileSync(join(source, 'run.sh'), '#!/bin/sh\n');
  chmodSync(join(source, 'run.sh'), 0o755);
  writeFileSync(join(source, 'empty'), '');
  symlinkSync('a.txt', join(source, 'link'));
  const files = ['a.txt', 'empty', 'run.sh', 'sub/deep/b.bin'];

  const archive = join(home, 'upload.sweep.gz');
  await pipeline(packFiles(source, null), createWriteStream(archive));
  const dest = join(home, 'proj');
  const record = [...files, 'deleted-later'];
  assert.deepEqual(
    await agentJson('unpack', { archive, dir: '~/proj', remove: [], record, noOverwrite: false }, env),
    { ok: true, written: 4, skipped: 0, removed: 0 },
    'a walk takes regular files only, not the symlink',
  );
  assert.equal(existsSync(archive), false, 'the uploaded archive is deleted');
  assert.deepEqual(filesUnder(dest), [...files, '.sweep-synced.json'].sort());
  assert.deepEqual(readFileSync(join(dest, 'sub', 'deep', 'b.bin')), big);
  assert.equal(statSync(join(dest, 'run.sh')).mode & 0o777, 0o755);
  assert.equal(statSync(join(dest, 'a.txt')).mode & 0o777, 0o644);

  assert.deepEqual(
    await agentJson('hashes', { dir: '~/proj', paths: ['a.txt', 'sub/deep/b.bin', 'empty', 'missing', 'sub'] }, env),
    {
      ok: true,
      hashes: {
        'a.txt': sha256('alpha\n'),
        'sub/deep/b.bin': sha256(big),
        empty: sha256(''),
        missing: null,
        sub: null,
      },
      synced: record,
    },
  );

  writeFileSync(join(dest, 'a.txt'), 'changed there\n');
  writeFileSync(join(source, 'new.txt'), 'new\n');
  await pipeline(packFiles(source, ['a.txt', './new.txt', 'gone.txt']), createWriteStream(archive));
  assert.deepEqual(
    await agentJson(
      'unpack',
      { archive, dir: dest, remove: ['empty', 'sub', 'never-there'], record: ['a.txt'], noOverwrite: true },
      env,
    ),
    { ok: true, written: 1, skipped: 1, removed: 1 },
    'a listed file that is gone is left out of the archive',
  );
  assert.equal(readFileSync(join(dest, 'a.txt'), 'utf8'), 'changed there\n', 'noOverwrite keeps the host copy');
  assert.equal(readFileSync(join(dest, 'new.txt'), 'utf8'), 'new\n');
  assert.equal(existsSync(join(dest, 'empty')), false);
  assert.equal(existsSync(join(dest, 'sub', 'deep', 'b.bin')), true, 'a directory is never removed');
  const second = await agentJson('hashes', { dir: dest, paths: [] }, env);
  assert.deepEqual(second.synced, ['a.txt']);

  const fetched = await runAgent('pack', { dir: '~/proj', paths: null }, env);
  assert.equal(fetched.code, 0, fetched.stderr);
  const back = join(home, 'back');
  assert.deepEqual(await unpackArchive(Readable.from([fetched.stdout]), back), { written: 4, skipped: 0 });
  assert.deepEqual(filesUnder(back), ['a.txt', 'new.txt', 'run.sh', 'sub/deep/b.bin'], 'the sync record stays there');
  assert.deepEqual(readFileSync(join(back, 'sub', 'deep', 'b.bin')), big);

  const some = await runAgent('pack', { dir: dest, paths: ['new.txt', 'missing'] }, env);
  assert.deepEqual(await unpackArchive(Readable.from([some.stdout]), join(home, 'some')), { written: 1, skipped: 0 });

  const none = await runAgent('pack', { dir: '~/no-such-dir', paths: null }, env);
  assert.equal(none.code, 0);
  assert.deepEqual(await unpackArchive(Readable.from([none.stdout]), join(home, 'none')), { written: 0, skipped: 0 });
});

test('unpack refuses paths that leave the directory, and symlinked parents, naming the path', async () => {
  const root = tempDir('agent-evil');
  const dest = join(root, 'dest');
  const outside = join(root, 'outside');
  mkdirSync(join(dest), { recursive: true });
  mkdirSync(outside);
  symlinkSync(outside, join(dest, 'link'));
  const cases: [string, RegExp][] = [
    ['../evil', /"\.\.\/evil": has a "\.\." segment/],
    ['a/../../evil', /"a\/\.\.\/\.\.\/evil": has a "\.\." segment/],
    ['/tmp/evil', /"\/tmp\/evil": is absolute/],
    ['nul\0evil', /"nul\\u0000evil": contains a NUL byte/],
    ['link/evil', /link\/evil: link is a symbolic link/],
  ];
  for (const [path, message] of cases) {
    const archive = archiveOf([
      { path: 'fine.txt', data: 'ok' },
      { path, data: 'pwned' },
    ]);
    await assert.rejects(unpackArchive(Readable.from([archive]), dest), message, path);
  }
  assert.deepEqual(readdirSync(outside), [], 'nothing reached the outside');
  assert.equal(existsSync(join(root, 'evil')), false);
  await assert.rejects(
    unpackArchive(Readable.from([archiveOf([{ path: 'x', data: 'abc' }], false)]), dest),
    /cut short \(no end record\)/,
  );
  await assert.rejects(unpackArchive(Readable.from([Buffer.from('not gzip')]), dest), /incorrect header check/);

  // Through the agent: the failure is one JSON line with its step, and the upload is still deleted.
  const env = { HOME: root, PATH: '' };
  const archive = join(root, 'evil.gz');
  writeFileSync(archive, archiveOf([{ path: '../evil', data: 'pwned' }]));
  const refused = await agentJson('unpack', { archive, dir: dest, remove: [], record: null, noOverwrite: false }, env);
  assert.deepEqual(refused, { ok: false, error: 'archive path "../evil": has a ".." segment', step: 'extract' });
  assert.equal(existsSync(archive), false);

  writeFileSync(join(outside, 'keep'), 'mine');
  writeFileSync(archive, archiveOf([]));
  const removal = await agentJson(
    'unpack',
    { archive, dir: dest, remove: ['link/keep'], record: null, noOverwrite: false },
    env,
  );
  assert.deepEqual(removal, { ok: false, error: 'link/keep: link is a symbolic link', step: 'remove' });
  assert.equal(readFileSync(join(outside, 'keep'), 'utf8'), 'mine');
  assert.equal(readFileSync(join(dest, 'fine.txt'), 'utf8'), 'ok');
});
