import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, ExitError } from '../../../src/errors.js';
import { checkServerPorts, startDevServer } from '../../../src/server/dev-server.js';
import { freePort } from '../../helpers/free-port.js';
import { tempDir } from '../../helpers/temporal.js';

/**
 * A stand-in for `temporal server start-dev` that fails to become ready in one particular way. The gRPC
 * answers are written by hand: a trailers-only response carries just the status.
 */
function fakeTemporal(mode: 'exit' | 'silent' | 'tcp' | 'unavailable' | 'no-ui'): string {
  const file = join(tempDir('fake-temporal'), 'temporal');
  writeFileSync(
    file,
    `#!${process.execPath}
import { createServer } from 'node:net';
import http2 from 'node:http2';
const args = process.argv.slice(2);
const port = Number(args[args.indexOf('--port') + 1]);
const mode = ${JSON.stringify(mode)};
if (mode === 'exit') { console.error('boom: cannot open the database'); process.exit(3); }
if (mode === 'silent') setInterval(() => {}, 1000);
if (mode === 'tcp') createServer(() => {}).listen(port, '127.0.0.1');
if (mode === 'unavailable' || mode === 'no-ui') {
  http2.createServer().on('stream', (stream) => {
    stream.resume();
    if (mode === 'unavailable') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': 'Not enough hosts to serve the request' }, { endStream: true });
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
  }).listen(port, '127.0.0.1');
}
`,
  );
  chmodSync(file, 0o755);
  return file;
}

async function readinessError(
  mode: Parameters<typeof fakeTemporal>[0],
  options: { uiPort?: number } = {},
): Promise<{ message: string; port: number }> {
  const port = await freePort();
  const error = await startDevServer({ binary: fakeTemporal(mode), ip: '127.0.0.1', port, ...options }, 1500).then(
    () => assert.fail('the fake server became ready'),
    (failure: unknown) => failure,
  );
  assert.ok(error instanceof ExitError, `an environment failure (exit 1), not a bug: ${String(error)}`);
  return { message: error.message, port };
}

test('a server that exits before it is ready: its exit status, the last probe and its own last words', async () => {
  const { message, port } = await readinessError('exit');
  assert.equal(
    message,
    'the Temporal dev server exited (code 3, signal null) before it was ready (its gRPC port ' +
      `127.0.0.1:${port} did not accept connections (connection refused)); its last output:\n` +
      'boom: cannot open the database',
  );
});

test('a server whose port never opens: says the port refused, not that it answered', async () => {
  const { message, port } = await readinessError('silent');
  assert.equal(
    message,
    `the Temporal dev server was not ready within 1.5 s: its gRPC port 127.0.0.1:${port} did not accept ` +
      'connections (connection refused); its last output:\n',
  );
});

test('a server that accepts TCP but speaks no gRPC', async () => {
  const { message, port } = await readinessError('tcp');
  assert.match(
    message,
    new RegExp(
      `^the Temporal dev server was not ready within 1\\.5 s: its gRPC port 127\\.0\\.0\\.1:${port} accepts ` +
        'connections, but DescribeNamespace\\("default"\\) did not succeed \\((DEADLINE_EXCEEDED|UNAVAILABLE): .+\\)',
    ),
  );
});

test('a server still starting: the status and message its gRPC answer carried', async () => {
  const { message, port } = await readinessError('unavailable');
  assert.equal(
    message,
    `the Temporal dev server was not ready within 1.5 s: its gRPC port 127.0.0.1:${port} accepts connections, ` +
      'but DescribeNamespace("default") did not succeed (UNAVAILABLE: Not enough hosts to serve the request); ' +
      'its last output:\n',
  );
});

test('gRPC ready but the Web UI not answering: says which of the two is missing', async () => {
  const uiPort = await freePort();
  const { message } = await readinessError('no-ui', { uiPort });
  assert.match(
    message,
    new RegExp(
      `^the Temporal dev server was not ready within 1\\.5 s: gRPC is ready, but its Web UI ` +
        `http://127\\.0\\.0\\.1:${uiPort} did not answer \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${uiPort}\\)`,
    ),
  );
});

test('the same port for gRPC and the Web UI is a configuration error before anything starts', async () => {
  const cases: [{ port: number; uiPort?: number }, string | undefined][] = [
    [{ port: 7233, uiPort: 8233 }, undefined],
    [{ port: 7233 }, undefined],
    [
      { port: 7233, uiPort: 7233 },
      '--ui-port 7233: the same port as the gRPC --port; give the Web UI another one, or use --headless',
    ],
    [
      { port: 65000, uiPort: 66000 },
      '--ui-port: the default, --port + 1000 = 66000, is not a port; give --ui-port, or use --headless',
    ],
  ];
  for (const [ports, expected] of cases) {
    if (expected === undefined) assert.doesNotThrow(() => checkServerPorts(ports));
    else
      assert.throws(
        () => checkServerPorts(ports),
        (error: unknown) => error instanceof ConfigError && error.message === expected,
      );
  }
  // startDevServer checks first: the binary is never run.
  await assert.rejects(
    startDevServer({ binary: '/nonexistent/temporal', ip: '127.0.0.1', port: 7233, uiPort: 7233 }),
    ConfigError,
  );
});
