import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectionOptions, resolveConnectionConfig } from '../../../src/temporal/connection-config.js';

test('defaults: the local dev server, plaintext', () => {
  assert.deepEqual(resolveConnectionConfig({}, {}), {
    address: '127.0.0.1:7233',
    namespace: 'default',
    apiKey: undefined,
    tls: false,
    tlsServerName: undefined,
    tlsCaPath: undefined,
    tlsCertPath: undefined,
    tlsKeyPath: undefined,
  });
});

test('environment variables configure a remote cluster; flags override them', () => {
  const env = { TEMPORAL_ADDRESS: 'temporal.lab:7233', TEMPORAL_NAMESPACE: 'research', TEMPORAL_TLS: 'true' };
  const fromEnv = resolveConnectionConfig({}, env);
  assert.equal(fromEnv.address, 'temporal.lab:7233');
  assert.equal(fromEnv.namespace, 'research');
  assert.equal(fromEnv.tls, true);
  const overridden = resolveConnectionConfig({ address: 'other:7000', tls: false }, env);
  assert.equal(overridden.address, 'other:7000');
  assert.equal(overridden.tls, false);
});

test('an API key turns TLS on (Temporal Cloud) unless it is switched off explicitly', () => {
  assert.equal(resolveConnectionConfig({}, { TEMPORAL_API_KEY: 'k' }).tls, true);
  assert.equal(resolveConnectionConfig({}, { TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }).tls, false);
  assert.deepEqual(connectionOptions(resolveConnectionConfig({ apiKey: 'k', tls: false }, {})), {
    address: '127.0.0.1:7233',
    tls: false,
    apiKey: 'k',
  });
});

test('bad settings are reported as located configuration errors', () => {
  assert.throws(() => resolveConnectionConfig({ address: 'no-port' }, {}), {
    name: 'ConfigError',
    message: 'connection address: expected host:port',
  });
  assert.throws(() => resolveConnectionConfig({ tlsCertPath: '/c.pem' }, {}), {
    name: 'ConfigError',
    message: 'connection: mTLS needs both a client certificate and its key (--tls-cert and --tls-key)',
  });
  assert.throws(() => connectionOptions(resolveConnectionConfig({ tlsCaPath: '/nonexistent/ca.pem' }, {})), {
    name: 'ConfigError',
    message: /^connection tlsCaPath: cannot read \/nonexistent\/ca\.pem: ENOENT/,
  });
});
