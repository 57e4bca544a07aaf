import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { connectClient, resolveConnectionConfig } from '../../src/temporal/connection-config.js';
import { finishSignal, type waitForFinish } from '../fixtures/signal-workflow.js';
import { quietWorkerRuntime, startPrivateServer, tempDir, uniqueName } from '../helpers/temporal.js';

test('a workflow survives a SIGKILLed dev server restarted on the same SQLite file', async () => {
  quietWorkerRuntime();
  const dbFile = join(tempDir('crash'), 'temporal.db');
  let server = await startPrivateServer(dbFile);
  const port = server.options.port;
  const config = resolveConnectionConfig({ address: server.address, tls: false }, {});
  const taskQueue = uniqueName('crash');
  const workflowId = uniqueName('crash-wf');

  const connection = await NativeConnection.connect({ address: server.address });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: fileURLToPath(new URL('../fixtures/signal-workflow.ts', import.meta.url)),
  });
  const running = worker.run();
  try {
    const client = await connectClient(config);
    const handle = await client.workflow.start<typeof waitForFinish>('waitForFinish', {
      taskQueue,
      workflowId,
      args: ['hello'],
    });
    // The first workflow task has run (the handler is registered) before the crash.
    await handle.query('__stack_trace');
    await client.connection.close();

    const exit = await server.kill();
    assert.equal(exit.signal, 'SIGKILL');
    server = await startPrivateServer(dbFile, port);

    // A fresh client after the restart; the worker reconnects by itself.
    const after = await connectClient(config);
    const description = await after.workflow.getHandle(workflowId).describe();
    assert.equal(description.status.name, 'RUNNING');
    await after.workflow.getHandle(workflowId).signal(finishSignal, 'after the crash');
    assert.equal(await after.workflow.getHandle(workflowId).result(), 'hello, after the crash');
    await after.connection.close();
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
    await server.stop();
  }
});
