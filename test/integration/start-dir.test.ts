// A relative command means what it says where the researcher typed `sweep start`, not where a worker happens
// to have been started (the shipped example failed every trial from a worker started elsewhere).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TestCluster } from '../helpers/cluster.js';
import { runSweep } from '../helpers/processes.js';
import { sharedServerConfig, tempDir } from '../helpers/temporal.js';

let cluster: TestCluster;
before(async () => {
  cluster = new TestCluster(sharedServerConfig().address);
  await cluster.startWorker('elsewhere', 1);
});
after(() => cluster.stop());

test('a relative command runs in the directory sweep start ran in, on a worker started in another', async () => {
  const project = tempDir('project');
  writeFileSync(
    join(project, 'train.mjs'),
    "import { writeFileSync } from 'node:fs';\nwriteFileSync('ran-here', process.cwd());\n",
  );
  writeFileSync(
    join(project, 'sweep.yml'),
    `command: [${JSON.stringify(process.execPath)}, train.mjs]\nparameters:\n  x: [1]\n`,
  );
  assert.notEqual(process.cwd(), project, 'the worker runs from the repository, not the project');
  const started = await runSweep(
    ['start', 'sweep.yml', '--wait', '--pool', cluster.pool, '--control-queue', cluster.controlQueue],
    { cwd: project, env: { ...process.env, TEMPORAL_ADDRESS: cluster.address } },
  );
  assert.equal(started.code, 0, started.stderr);
  assert.ok(existsSync(join(project, 'ran-here')), 'train.mjs was found and ran in the project directory');
  assert.equal(readFileSync(join(project, 'ran-here'), 'utf8'), project);
});
