import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { TrialSummary } from '../../src/workflows/types.js';
import { TestCluster } from '../helpers/cluster.js';
import { sharedServerConfig, uniqueName } from '../helpers/temporal.js';

const cluster = new TestCluster(sharedServerConfig().address);
before(async () => {
  await cluster.startWorker('m1', 3);
});
after(() => cluster.stop());

test('a diverged trial: nan survives the trip through Temporal, shows as nan and is never ranked best', async () => {
  // x < 0 diverges, reported the way Python's json.dumps writes NaN; the others halve their loss over two steps
  // and print one metric line that cannot be read.
  const script = join(cluster.dir, 'diverge.mjs');
  writeFileSync(
    script,
    [
      'const x = Number(process.argv[2]);',
      'if (x < 0) console.log(\'@sweep {"step": 1, "loss": NaN}\');',
      'else console.log(`step=1 loss=${x}\\n@sweep {"loss": }\\nstep=2 loss=${x / 2}`);',
    ].join('\n'),
  );
  const spec = join(cluster.dir, `${uniqueName('diverge')}.yml`);
  writeFileSync(
    spec,
    `command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(script)}, '{x}']\nargs: none\n` +
      'metric: {name: loss, goal: minimize}\nparameters:\n  x: [4, -1, 2]\n',
  );
  const started = await cluster.sweep(['start', spec]);
  assert.equal(started.code, 0, started.stderr);
  const sweepId = started.stdout.trim();
  const watched = await cluster.sweep(['watch', sweepId]);
  assert.equal(watched.code, 0, watched.stderr);

  const json = await cluster.sweep(['results', sweepId, '--format', 'json']);
  assert.equal(json.code, 0, json.stderr);
  const rows = json.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as TrialSummary);
  assert.deepEqual(
    rows.map((row) => [row.params.x, row.state, row.metrics.loss, row.best]),
    [
      [2, 'succeeded', 1, 1],
      [4, 'succeeded', 2, 2],
      [-1, 'succeeded', 'nan', undefined],
    ],
  );

  const csv = await cluster.sweep(['results', sweepId, '--format', 'csv', '--sort', 'loss', '--desc']);
  assert.equal(csv.code, 0, csv.stderr);
  const [header = '', ...lines] = csv.stdout.trim().split('\n');
  const columns = header.split(',');
  const cell = (line: string, name: string) => line.split(',')[columns.indexOf(name)];
  assert.deepEqual(
    lines.map((line) => [cell(line, 'x'), cell(line, 'loss'), cell(line, 'best')]),
    [
      ['4', '2', '2'],
      ['2', '1', '1'],
      ['-1', 'nan', ''],
    ],
  );
  for (const line of lines) assert.match(cell(line, 'runtime_s') ?? '', /^\d+(\.\d+)?$/, line);

  const unknown = await cluster.sweep(['results', sweepId, '--sort', 'los']);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr, 'sweep: --sort los: not a metric of this sweep; sort on one of: best, loss\n');
  assert.equal(unknown.stdout, '');
});
