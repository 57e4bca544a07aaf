import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { runSweep } from '../helpers/processes.js';
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
