import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, ExitError } from '../../../src/errors.js';
import {
  cachedBinaryPath,
  goBuildFailure,
  readTemporalPin,
  resolveTemporalBinary,
  TEMPORAL_MODULE_DIR,
} from '../../../src/server/temporal-binary.js';
import { tempDir } from '../../helpers/temporal.js';

test('the pin names the CLI version from the committed go.mod', () => {
  assert.equal(readTemporalPin().version, '1.5.1');
  assert.match(readTemporalPin().pinHash, /^[0-9a-f]{12}$/);
});

test('the cache path is stable for a pin and changes when go.sum changes', () => {
  const dir = tempDir('pin');
  cpSync(TEMPORAL_MODULE_DIR, dir, { recursive: true });
  const before = readTemporalPin(dir);
  const env = { XDG_CACHE_HOME: '/cache' };
  assert.equal(cachedBinaryPath(before, env), `/cache/sweep/temporal/1.5.1-${before.pinHash}/temporal`);
  assert.equal(cachedBinaryPath(readTemporalPin(dir), env), cachedBinaryPath(before, env));
  appendFileSync(join(dir, 'go.sum'), 'example.com/x v1.0.0 h1:AAAA=\n');
  assert.notEqual(cachedBinaryPath(readTemporalPin(dir), env), cachedBinaryPath(before, env));
});

test('SWEEP_TEMPORAL_BIN wins when it is a working Temporal CLI', async () => {
  const dir = tempDir('bin');
  const fake = join(dir, 'temporal');
  writeFileSync(fake, '#!/bin/sh\necho "temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)"\n');
  chmodSync(fake, 0o755);
  const resolved = await resolveTemporalBinary({ env: { SWEEP_TEMPORAL_BIN: fake }, log: () => {} });
  assert.deepEqual(resolved, { path: fake, source: 'SWEEP_TEMPORAL_BIN', version: '1.5.1' });
});

test('SWEEP_TEMPORAL_BIN that is not a Temporal CLI is a configuration error', async () => {
  await assert.rejects(resolveTemporalBinary({ env: { SWEEP_TEMPORAL_BIN: '/bin/true' }, log: () => {} }), {
    name: 'ConfigError',
    message: 'SWEEP_TEMPORAL_BIN=/bin/true: not an executable Temporal CLI',
  });
});

test('a cached binary is reused without building', async () => {
  const cacheHome = tempDir('cache');
  const cached = cachedBinaryPath(readTemporalPin(), { XDG_CACHE_HOME: cacheHome });
  mkdirSync(join(cached, '..'), { recursive: true });
  writeFileSync(cached, '#!/bin/sh\n');
  chmodSync(cached, 0o755);
  const resolved = await resolveTemporalBinary({ env: { XDG_CACHE_HOME: cacheHome, PATH: '' }, log: () => {} });
  assert.deepEqual(resolved, { path: cached, source: 'cache', version: '1.5.1' });
});

test('without Go and without a binary the error says what to install or set', async () => {
  const env = { XDG_CACHE_HOME: tempDir('nogo'), PATH: tempDir('empty-path') };
  await assert.rejects(resolveTemporalBinary({ env, log: () => {} }), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(
      error.message,
      'The Go toolchain was not found. Install Go 1.25 or newer (https://go.dev/dl/, or your package manager) so ' +
        "Sweep can build the Temporal CLI once, or set SWEEP_TEMPORAL_BIN to an existing 'temporal' binary.",
    );
    return true;
  });
});

test('a failed go build is one located line with the tail of go output, an environment failure (exit 1)', async () => {
  const bin = tempDir('fake-go');
  writeFileSync(
    join(bin, 'go'),
    '#!/bin/sh\n' +
      'if [ "$1" = version ]; then echo "go version go1.26.0 linux/amd64"; exit 0; fi\n' +
      'echo "go: downloading go.temporal.io/server v1.29.1" >&2\n' +
      'echo "go: go.temporal.io/server@v1.29.1: Get \\"https://proxy.golang.org/...\\": dial tcp: lookup proxy.golang.org: no such host" >&2\n' +
      'exit 1\n',
  );
  chmodSync(join(bin, 'go'), 0o755);
  const env = { XDG_CACHE_HOME: tempDir('cache'), PATH: bin };
  await assert.rejects(resolveTemporalBinary({ env, log: () => {} }), (error: unknown) => {
    assert.ok(error instanceof ExitError, String(error));
    assert.equal(error.code, 1);
    assert.equal(
      error.message,
      'tools/temporal: go build of the Temporal CLI 1.5.1 failed (exit 1); or set SWEEP_TEMPORAL_BIN to an ' +
        'existing temporal binary\n' +
        '  go: downloading go.temporal.io/server v1.29.1\n' +
        '  go: go.temporal.io/server@v1.29.1: Get "https://proxy.golang.org/...": dial tcp: lookup ' +
        'proxy.golang.org: no such host',
    );
    return true;
  });
});

test('a go build killed for memory says so', () => {
  const pin = readTemporalPin();
  assert.match(
    goBuildFailure(pin, { code: null, signal: 'SIGKILL' }, ''),
    /was killed by SIGKILL \(out of memory\? it needs about 1\.5 GB\)/,
  );
  assert.match(
    goBuildFailure(pin, { code: null, signal: null, error: new Error('spawn go ENOENT') }, ''),
    /could not run go \(spawn go ENOENT\)/,
  );
});
