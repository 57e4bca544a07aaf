import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runSweep, startProcess } from '../helpers/processes.js';

const WORKER_BIN = fileURLToPath(new URL('../../bin/worker.js', import.meta.url));
import { tempDir } from '../helpers/temporal.js';

const packageVersion = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

test('--version prints the package version', async () => {
  const result = await runSweep(['--version']);
  assert.equal(result.code, 0);
  assert.equal(result.stdout, `${packageVersion}\n`);
});

test('--help lists the commands, and every command has its own --help', async () => {
  const top = await runSweep(['--help']);
  assert.equal(top.code, 0);
  const commands = [...top.stdout.matchAll(/^ {2}([a-z-]+) /gm)].map((match) => match[1]!).filter((c) => c !== 'help');
  assert.ok(commands.includes('server'), top.stdout);
  for (const command of commands) {
    const help = await runSweep([command, '--help']);
    assert.equal(help.code, 0, command);
    assert.match(help.stdout, new RegExp(`^Usage: sweep ${command} `), command);
  }
});

test('`worker` is installed as an alias of `sweep worker`', async () => {
  const run = startProcess(process.execPath, [WORKER_BIN, '--help']);
  assert.deepEqual(await run.exited, { code: 0, signal: null });
  assert.match(run.stdout, /^Usage: sweep worker \[options\]/);
  assert.match(run.stdout, /--gpu <index>/);
  const bad = startProcess(process.execPath, [WORKER_BIN]);
  assert.deepEqual(await bad.exited, { code: 2, signal: null });
  assert.equal(bad.stderr, 'sweep: worker: give --gpu N, --gpus LIST, --all-gpus or --cpu-slots N\n');
});

test('no command at all prints the help to stderr and exits 2', async () => {
  const result = await runSweep([]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^Usage: sweep \[options\] \[command\]/);
});

const usageErrors: { args: string[]; stderr: string }[] = [
  { args: ['nosuchcommand'], stderr: "sweep: unknown command 'nosuchcommand'\n" },
  { args: ['serve'], stderr: "sweep: unknown command 'serve'\n(Did you mean server?)\n" },
  { args: ['server', '--port'], stderr: "sweep: option '--port <port>' argument missing\n" },
  {
    args: ['server', '--port', '99999'],
    stderr: "sweep: option '--port <port>' argument '99999' is invalid. expected a port number from 1 to 65535.\n",
  },
  { args: ['server', '--bogus'], stderr: "sweep: unknown option '--bogus'\n" },
  { args: ['results', 's', '--asc', '--desc'], stderr: "sweep: option '--desc' cannot be used with option '--asc'\n" },
];

for (const { args, stderr } of usageErrors) {
  test(`bad usage \`sweep ${args.join(' ')}\` exits 2 with a short error`, async () => {
    const result = await runSweep(args);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, stderr);
    assert.equal(result.stdout, '');
  });
}

test('sweep server on a port in use exits 2 with one line naming the port', async () => {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const port = (holder.address() as { port: number }).port;
  try {
    const result = await runSweep(['server', '--headless', '--port', String(port), '--data-dir', tempDir('busy')]);
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr,
      `sweep: --port ${port}: 127.0.0.1:${port} is already in use (another Temporal server?); pick a free port\n`,
    );
  } finally {
    holder.close();
  }
});

test('a server that cannot be reached is a one-line failure (exit 1), not a stack trace', async () => {
  const result = await runSweep(['list', '--address', '127.0.0.1:1']);
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /^sweep: cannot reach Temporal at 127\.0\.0\.1:1 \(.+\); is `sweep server` running there\? Set TEMPORAL_ADDRESS or --address\n$/,
  );
});
