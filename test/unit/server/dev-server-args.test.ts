import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { assertPortFree, devServerArgs } from '../../../src/server/dev-server.js';
import { UsageError } from '../../../src/errors.js';

test('devServerArgs: headless in-memory server with Sweep defaults and search attributes', () => {
  const args = devServerArgs({ binary: 'temporal', ip: '127.0.0.1', port: 7233 });
  assert.deepEqual(args.slice(0, 9), [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    '7233',
    '--log-level',
    'warn',
    '--headless',
  ]);
  assert.ok(!args.includes('--db-filename'));
  const dynamic = args.flatMap((arg, i) => (args[i - 1] === '--dynamic-config-value' ? [arg] : []));
  assert.deepEqual(dynamic, [
    'frontend.enableServerVersionCheck=false',
    'frontend.WorkerHeartbeatsEnabled=true',
    'frontend.ListWorkersEnabled=true',
    'matching.useNewMatcher=true',
    'matching.enableFairness=true',
    'matching.priorityLevels=10',
    'matching.numTaskqueueWritePartitions=1',
  ]);
  const attributes = args.flatMap((arg, i) => (args[i - 1] === '--search-attribute' ? [arg] : []));
  assert.deepEqual(attributes, [
    'SweepId=Keyword',
    'SweepState=Keyword',
    'TrialIndex=Int',
    'TrialState=Keyword',
    'GpuQueue=Keyword',
    'SweepOwner=Keyword',
  ]);
});

test('devServerArgs: UI port, SQLite file, extra namespace and overriding dynamic config', () => {
  const args = devServerArgs({
    binary: 'temporal',
    ip: '0.0.0.0',
    port: 7300,
    uiPort: 8300,
    dbFile: '/data/temporal.db',
    namespace: 'research',
    dynamicConfig: ['limit.historyCount.suggestContinueAsNew=200'],
  });
  const joined = args.join(' ');
  assert.ok(!args.includes('--headless'));
  assert.match(joined, /--ui-port 8300/);
  assert.match(joined, /--db-filename \/data\/temporal\.db/);
  assert.match(joined, /--namespace research/);
  // Later values win in the dev server, so the caller's come after Sweep's defaults.
  assert.match(joined, /WritePartitions=1 --dynamic-config-value limit\.historyCount\.suggestContinueAsNew=200/);
});

test('assertPortFree: a taken port is a usage error that names the flag and the port', async () => {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const port = (holder.address() as { port: number }).port;
  try {
    await assert.rejects(assertPortFree('127.0.0.1', port, '--ui-port'), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.equal(
        error.message,
        `--ui-port ${port}: 127.0.0.1:${port} is already in use (another Temporal server?); pick a free port`,
      );
      return true;
    });
  } finally {
    holder.close();
  }
  await assertPortFree('127.0.0.1', port, '--port');
});
