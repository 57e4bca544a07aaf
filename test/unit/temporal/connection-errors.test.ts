import assert from 'node:assert/strict';
import { createServer, type Http2Server } from 'node:http2';
import { test } from 'node:test';
import { NativeConnection } from '@temporalio/worker';
import { connectRetrying, OutageReporter } from '../../../src/temporal/connect-retrying.js';
import { connectClient, connectionOptions, resolveConnectionConfig } from '../../../src/temporal/connection-config.js';
import {
  environmentProblem,
  isTransportFailure,
  TemporalUnreachableError,
  TlsHandshakeError,
  transportReason,
} from '../../../src/temporal/connection-errors.js';
import { freePort } from '../../helpers/free-port.js';

/** A plain HTTP/2 server, as a Temporal server without TLS looks to a TLS client. */
async function plainHttp2(): Promise<{ server: Http2Server; address: string }> {
  const server = createServer();
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, address: `127.0.0.1:${port}` };
}

function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
}

test('gRPC UNAVAILABLE and the native TransportError are transport failures; other statuses are not', () => {
  const native = Object.assign(new Error('tonic::transport::Error(Transport, ConnectError(…ConnectionRefused…))'), {
    name: 'TransportError',
  });
  const unavailable = grpcError(14, 'No connection established. Last error: Error: connect ECONNREFUSED 1.2.3.4:7');
  const wrapped = new Error('Unexpected error while making gRPC request', { cause: unavailable });
  const cases: [unknown, boolean, string][] = [
    [unavailable, true, 'connection refused'],
    [wrapped, true, 'connection refused'],
    [native, true, 'connection refused'],
    [new TemporalUnreachableError('h:1', 'no such host'), true, 'no such host'],
    [new Error('Failed to connect before the deadline'), true, 'no answer in time'],
    [grpcError(5, 'workflow not found'), false, 'workflow not found'],
    [grpcError(4, 'deadline exceeded'), false, 'no answer in time'],
    [new Error('something else'), false, 'something else'],
  ];
  for (const [error, transport, reason] of cases) {
    assert.equal(isTransportFailure(error), transport, String(error));
    if (!(error instanceof TemporalUnreachableError)) assert.equal(transportReason(error), reason, String(error));
  }
});

test('a client against a port nobody listens on fails at once, in one line that says so', async () => {
  const address = `127.0.0.1:${await freePort()}`;
  const started = Date.now();
  await assert.rejects(connectClient(resolveConnectionConfig({ address, tls: false }, {})), (error: unknown) => {
    assert.ok(error instanceof TemporalUnreachableError);
    assert.equal(
      error.message,
      `cannot reach Temporal at ${address} (connection refused); is \`sweep server\` running there? ` +
        'Set TEMPORAL_ADDRESS or --address',
    );
    return true;
  });
  assert.ok(Date.now() - started < 5000, 'not after the whole 10 s connect timeout');
});

test('TLS against a plain server is reported as a TLS handshake failure, by the client and the worker', async () => {
  const { server, address } = await plainHttp2();
  try {
    const config = resolveConnectionConfig({ address, tls: true }, {});
    const expected = new RegExp(
      `^TLS handshake with ${address} failed \\(.+\\): check --tls-ca/--tls-server-name, or drop --tls for a plain server$`,
    );
    await assert.rejects(connectClient(config), (error: unknown) => {
      assert.ok(error instanceof TlsHandshakeError, String(error));
      assert.match(error.message, expected);
      assert.match(error.reason, /wrong version number|packet length too long|unknown protocol/);
      return true;
    });
    // The worker's native connection: not an outage, so it is thrown at once instead of waited for.
    const lines: string[] = [];
    await assert.rejects(
      connectRetrying(
        config,
        () => NativeConnection.connect(connectionOptions(config)),
        new OutageReporter(address, 10, (line) => lines.push(line)),
      ),
      (error: unknown) => error instanceof TlsHandshakeError && expected.test(error.message),
    );
    assert.deepEqual(lines, []);
  } finally {
    server.close();
  }
});

test('an outage is one line when it starts and one when the server answers again, however many calls fail', async () => {
  const lines: string[] = [];
  const reporter = new OutageReporter('127.0.0.1:7233', 5, (line) => lines.push(line));
  let calls = 0;
  const refused = grpcError(14, 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7233');
  const operation = () => {
    calls++;
    return calls <= 4 ? Promise.reject(refused) : Promise.resolve('answer');
  };
  const [first, second] = await Promise.all([reporter.retry(operation), reporter.retry(operation)]);
  assert.equal(first, 'answer');
  assert.equal(second, 'answer');
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.equal(lines[0], 'Temporal at 127.0.0.1:7233 is not answering (connection refused); retrying every 0.005 s');
  assert.match(lines[1] ?? '', /^Temporal at 127\.0\.0\.1:7233 answers again \(after \d+ s\)$/);
  await assert.rejects(
    reporter.retry(() => Promise.reject(grpcError(5, 'no such workflow'))),
    /no such workflow/,
    'an answer that is not an outage is not retried',
  );
});

test('connectRetrying waits for a server that comes up later', async () => {
  const lines: string[] = [];
  let attempts = 0;
  const config = resolveConnectionConfig({ address: '127.0.0.1:7233', tls: false }, {});
  const value = await connectRetrying(
    config,
    () => {
      attempts++;
      if (attempts < 3) return Promise.reject(new TemporalUnreachableError(config.address, 'connection refused'));
      return Promise.resolve('connected');
    },
    new OutageReporter(config.address, 5, (line) => lines.push(line)),
  );
  assert.equal(value, 'connected');
  assert.equal(attempts, 3);
  assert.equal(lines.length, 2);
  assert.match(lines[0] ?? '', /is not answering \(connection refused\)/);
});

test('environment problems are one line; anything else is left for the bug report', () => {
  const unavailable = grpcError(14, 'No connection established. Last error: Error: connect ECONNREFUSED 1.2.3.4:7');
  assert.equal(environmentProblem(unavailable, 'h:7233'), 'Temporal at h:7233 stopped answering (connection refused)');
  // An HTTP server at the address, e.g. the Web UI's port given as --address.
  const http = new Error('Failed to list workflows', { cause: grpcError(12, 'Received HTTP status code 404') });
  assert.equal(
    environmentProblem(http, 'h:8233'),
    "the server at h:8233 answered HTTP 404, not gRPC: is that Temporal's gRPC port (7233 by default) and not its Web UI's?",
  );
  assert.equal(environmentProblem(new TypeError('x is undefined')), undefined);
});
