import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { connectClient, resolveConnectionConfig } from '../../src/temporal/connection-config.js';
import { freePort } from '../helpers/free-port.js';
import { startSweep, type RunningProcess } from '../helpers/processes.js';
import { tempDir, uniqueName } from '../helpers/temporal.js';

// A failed assertion must not leave a server running: the runner would wait for it forever.
const servers: RunningProcess[] = [];
after(async () => {
  await Promise.all(servers.map((server) => server.signal('SIGKILL')));
});

function startServer(args: readonly string[]): RunningProcess {
  const server = startSweep(args);
  servers.push(server);
  return server;
}

/** The UI's visibility listing, polled: right after a restart it can lag the history for a moment. */
async function listedByUi(uiPort: number, workflowId: string): Promise<string[] | undefined> {
  const url = `http://127.0.0.1:${uiPort}/api/v1/namespaces/default/workflows?query=WorkflowId%3D%22${workflowId}%22`;
  for (const deadline = Date.now() + 20_000; ;) {
    const listed = (await (await fetch(url)).json()) as { executions?: { execution: { workflowId: string } }[] };
    const ids = listed.executions?.map((execution) => execution.execution.workflowId);
    if (ids?.length || Date.now() > deadline) return ids;
    await delay(200);
  }
}

test('sweep server serves gRPC and the Web UI, stops on Ctrl-C and keeps its history across restarts', async () => {
  const dataDir = tempDir('server');
  const [port, uiPort] = [await freePort(), await freePort()];
  const args = ['server', '--data-dir', dataDir, '--port', String(port), '--ui-port', String(uiPort)];
  const workflowId = uniqueName('kept');

  const first = startServer(args);
  await first.waitForOutput(/is ready/);
  assert.match(first.stdout, new RegExp(`gRPC address: 127\\.0\\.0\\.1:${port}`));
  assert.match(first.stdout, new RegExp(`Web UI: +http://127\\.0\\.0\\.1:${uiPort}`));
  assert.ok(existsSync(join(dataDir, 'temporal.db')));

  const ui = await fetch(`http://127.0.0.1:${uiPort}/`);
  assert.equal(ui.status, 200);
  assert.match(ui.headers.get('content-type') ?? '', /text\/html/);
  assert.match(await ui.text(), /<div id="svelte">/);
  const settings = (await (await fetch(`http://127.0.0.1:${uiPort}/api/v1/settings`)).json()) as { Version: string };
  assert.equal(settings.Version, '2.42.1');

  const config = resolveConnectionConfig({ address: `127.0.0.1:${port}`, tls: false }, {});
  const client = await connectClient(config);
  // No worker polls this queue: the run simply stays open, which is all the restart needs to show.
  await client.workflow.start('notRegistered', { taskQueue: uniqueName('idle'), workflowId });
  await client.connection.close();

  const stopped = await first.signal('SIGINT');
  assert.deepEqual(stopped, { code: 0, signal: null });
  assert.match(first.stderr, /Stopped\./);

  const second = startServer(args);
  await second.waitForOutput(/is ready/);
  const again = await connectClient(config);
  const description = await again.workflow.getHandle(workflowId).describe();
  assert.equal(description.status.name, 'RUNNING');
  assert.equal(description.type, 'notRegistered');
  // The UI reads the same persisted history through its own API.
  assert.deepEqual(await listedByUi(uiPort, workflowId), [workflowId]);
  await again.workflow.getHandle(workflowId).terminate('test done');
  await again.connection.close();

  // A second server on the same data directory is refused before it starts anything.
  const otherPort = await freePort();
  const third = startServer(['server', '--data-dir', dataDir, '--port', String(otherPort), '--headless']);
  assert.deepEqual(await third.exited, { code: 2, signal: null });
  assert.match(
    third.stderr,
    new RegExp(
      `^sweep: data directory ${dataDir} is in use by sweep server on port ${port} \\(pid ${second.pid} on .+\\); stop it first, or give --data-dir\n$`,
    ),
  );
  assert.equal(third.stdout, '');
  assert.deepEqual(await second.signal('SIGTERM'), { code: 0, signal: null });
});
