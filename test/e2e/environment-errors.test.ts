// Failures of the environment, as a user meets them through the CLI: one line each, never a stack trace or
// "a bug in Sweep".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort } from '../helpers/free-port.js';
import { runSweep, startSweep } from '../helpers/processes.js';
import { sharedServerConfig, tempDir } from '../helpers/temporal.js';

function assertNoStack(stderr: string): void {
  assert.doesNotMatch(stderr, /bug in Sweep|^\s+at |TransportError/m, stderr);
}

test('a short command against a server that is not there fails at once with one line', async () => {
  const address = `127.0.0.1:${await freePort()}`;
  const started = Date.now();
  for (const args of [['status'], ['cancel', 'some-sweep'], ['results', 'some-sweep'], ['list']]) {
    const result = await runSweep([...args, '--address', address]);
    assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
    assert.equal(
      result.stderr,
      `sweep: cannot reach Temporal at ${address} (connection refused); is \`sweep server\` running there? ` +
        'Set TEMPORAL_ADDRESS or --address\n',
    );
  }
  assert.ok(Date.now() - started < 20_000, 'no connect timeout is waited out');
});

test('TLS against a plain server says TLS, for a command and for a worker', async () => {
  const { address } = sharedServerConfig();
  const line = new RegExp(
    `^sweep: TLS handshake with ${address.replaceAll('.', '\\.')} failed \\(.+\\): check --tls-ca/--tls-server-name, ` +
      'or drop --tls for a plain server\n$',
  );
  const status = await runSweep(['status', '--address', address, '--tls']);
  assert.equal(status.code, 1);
  assert.match(status.stderr, line);

  // Not an outage: the worker does not wait for it to go away.
  const worker = await runSweep([
    'worker',
    '--cpu-slots',
    '1',
    '--address',
    address,
    '--tls',
    '--data-dir',
    tempDir('tls'),
  ]);
  assert.equal(worker.code, 1, worker.stderr);
  assert.match(worker.stderr, line);
});

test('a worker without a server waits with one line, and SIGTERM still stops it', async () => {
  const address = `127.0.0.1:${await freePort()}`;
  const worker = startSweep(['worker', '--cpu-slots', '1', '--address', address, '--data-dir', tempDir('waiting')]);
  await worker.waitForOutput(/is not answering/, 30_000, 'stderr');
  // Two more tries at least (every 2 s), still one line.
  await new Promise((resolve) => setTimeout(resolve, 5000));
  assert.equal(
    worker.stderr,
    `sweep: Temporal at ${address} is not answering (connection refused); retrying every 2 s\n`,
  );
  const exit = await worker.signal('SIGTERM');
  assert.ok(exit.signal === 'SIGTERM' || exit.code !== null, JSON.stringify(exit));
  assertNoStack(worker.stderr);
});

test('the same port for gRPC and the Web UI is refused before anything starts', async () => {
  const result = await runSweep(['server', '--port', '7299', '--ui-port', '7299', '--data-dir', tempDir('ports')]);
  assert.deepEqual(
    { code: result.code, stderr: result.stderr },
    {
      code: 2,
      stderr: '--ui-port 7299: the same port as the gRPC --port; give the Web UI another one, or use --headless\n',
    },
  );
});
