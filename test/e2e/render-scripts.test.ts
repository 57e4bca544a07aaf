import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runSweep } from '../helpers/processes.js';
import { tempDir } from '../helpers/temporal.js';

// Every value a shell would act on if it were pasted unquoted into a script.
const SPEC = `msg:
  - "it's a \\"quoted\\" value"
  - "$(touch pwned)"
  - "\`touch pwned\`; touch pwned"
  - "two\\nlines and a \\\\ backslash"
n: [1, 2]
`;
// A file rather than `node -e`: node would read the trial's `--options` after `-e CODE` as its own.
const PRINT_ARGV = 'console.log(JSON.stringify(process.argv.slice(2)));\n';
const HEADER = 'LOGDIR=logs\nmkdir -p "$LOGDIR"\necho "header ran for $SWEEP_TRIAL_NAME" >&2\n';
const FOOTER = '| tee "$LOGDIR/$SWEEP_TRIAL_NAME.out"';

interface Expanded {
  readonly name: string;
  readonly argv: string[];
}

function scriptEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.SWEEP_TRIAL_DIR;
  return env;
}

test('sweep render writes launcher scripts that run the exact argv of every trial, header and footer included', async () => {
  const dir = tempDir('render');
  const spec = join(dir, 'parameters.yml');
  const header = join(dir, 'header.sh');
  const scripts = join(dir, 'scripts');
  writeFileSync(spec, SPEC);
  writeFileSync(header, HEADER);
  const printArgv = join(dir, "print argv's.mjs");
  writeFileSync(printArgv, PRINT_ARGV);
  const COMMAND = ['--', process.execPath, printArgv, '--out={trial_dir}/model'];
  const render = ['render', spec, '--scripts', scripts, '--header', header, '--footer', FOOTER];

  const expanded = await runSweep(['expand', spec, ...COMMAND]);
  assert.equal(expanded.code, 0, expanded.stderr);
  const trials = expanded.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Expanded);
  assert.equal(trials.length, 8);
  const paths = trials.map((trial) => join(scripts, `${trial.name}.sh`));

  const first = await runSweep([...render, ...COMMAND]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, paths.map((path) => `${path}\n`).join(''));
  assert.equal(first.stderr, `${scripts}: 8 launcher script(s): 8 written, 0 unchanged\n`);

  for (const [index, trial] of trials.entries()) {
    const path = paths[index] ?? '';
    assert.equal(statSync(path).mode & 0o777, 0o755, path);
    const runDir = tempDir('render-run');
    const run = spawnSync(path, [], { cwd: runDir, env: scriptEnv(), encoding: 'utf8' });
    assert.equal(run.status, 0, `${path}: ${run.stderr}`);
    const trialDir = join(runDir, trial.name);
    const expected = trial.argv.slice(2).map((element) => element.replaceAll('<trial_dir>', trialDir));
    assert.deepEqual(JSON.parse(run.stdout), expected, path);
    assert.equal(run.stderr, `header ran for ${trial.name}\n`);
    assert.equal(readFileSync(join(runDir, 'logs', `${trial.name}.out`), 'utf8'), run.stdout);
    assert.ok(statSync(trialDir).isDirectory(), 'the trial directory is made where the script runs');
    assert.deepEqual(readdirSync(runDir).sort(), ['logs', trial.name].sort(), 'nothing else, no pwned file');
  }
  assert.ok(!existsSync(join(scripts, 'pwned')) && !existsSync('pwned'));

  const mtimes = paths.map((path) => statSync(path).mtimeMs);
  const again = await runSweep([...render, ...COMMAND]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, first.stdout, 'every script of the sweep is listed, unchanged ones too');
  assert.equal(again.stderr, `${scripts}: 8 launcher script(s): 0 written, 8 unchanged\n`);
  assert.deepEqual(
    paths.map((path) => statSync(path).mtimeMs),
    mtimes,
  );

  const before = paths.map((path) => readFileSync(path, 'utf8'));
  // A fixed value varies nothing, so the trials keep their names and the same files would change.
  writeFileSync(spec, `${SPEC}extra: 1\n`);
  const refused = await runSweep([...render, ...COMMAND]);
  assert.equal(refused.code, 2);
  assert.equal(
    refused.stderr,
    [
      ...paths.map((path) => `${path}: exists and differs from what this spec renders (--force overwrites)`),
      'nothing was written',
      '',
    ].join('\n'),
  );
  assert.equal(refused.stdout, '');
  assert.deepEqual(
    paths.map((path) => readFileSync(path, 'utf8')),
    before,
  );

  const forced = await runSweep([...render, '--force', ...COMMAND]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(forced.stderr, `${scripts}: 8 launcher script(s): 8 written, 0 unchanged\n`);
  assert.match(readFileSync(paths[0] ?? '', 'utf8'), /\n {4}--extra=1 \\\n/);
  assert.deepEqual(readdirSync(scripts).sort(), paths.map((path) => path.slice(scripts.length + 1)).sort());
});

test('sweep render reports every problem at once, located, exits 2 and writes nothing', async () => {
  const dir = tempDir('render-bad');
  const spec = join(dir, 'parameters.yml');
  writeFileSync(spec, 'epoch: !!python/tuple [5, 20, 0]\n');
  const scripts = join(dir, 'scripts');
  const result = await runSweep(['render', spec, '--scripts', scripts, '--header', join(dir, 'nope.sh'), '--', 'x']);
  assert.equal(result.code, 2);
  assert.equal(
    result.stderr,
    `${spec}:1:8 epoch: interval step must be > 0, got 0\n${join(dir, 'nope.sh')}: cannot read the header: no such file\n`,
  );
  assert.ok(!existsSync(scripts));

  writeFileSync(spec, 'a: {range: [0, 5]}\n');
  const big = await runSweep(['render', spec, '--scripts', scripts, '--max-scripts', '4', '--', 'x']);
  assert.equal(big.code, 2);
  assert.equal(
    big.stderr,
    `${spec}: the sweep has 5 trials, more than --max-scripts (4); raise --max-scripts or narrow the grid\n`,
  );
  assert.ok(!existsSync(scripts));
});
