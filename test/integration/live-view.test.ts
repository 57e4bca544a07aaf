import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import xterm from '@xterm/headless';
import { TestCluster } from '../helpers/cluster.js';
import { SWEEP_BIN, startProcess } from '../helpers/processes.js';
import { sharedServerConfig } from '../helpers/temporal.js';

const cluster = new TestCluster(sharedServerConfig().address);
before(() => Promise.all([cluster.startWorker('lane-a'), cluster.startWorker('lane-b')]));
after(() => cluster.stop());

/**
 * Eight trials of two seconds on two one-slot workers, a metric each half second; two (x = 3) fail and are not
 * retried. With the default window every trial is in flight at once: those behind a busy slot are held ready.
 */
const EIGHT_TRIALS = '  x: [1, 2, 3, 4]\n  seed: [1, 2]\n  steps: 4\n  step_ms: 500\n  fail_on: 3';
const SETTINGS = 'metric: {name: loss, goal: minimize}\nretries: 0';
const ROWS = 40;

/** `sweep watch` under a pseudo-terminal of this width (util-linux `script`): its raw output and exit code. */
async function watchOnTerminal(sweepId: string, columns: number, extra: { args?: string; env?: NodeJS.ProcessEnv }) {
  const command = `stty cols ${columns} rows ${ROWS}; exec ${process.execPath} ${SWEEP_BIN} watch ${sweepId} ${extra.args ?? ''}`;
  const run = startProcess('script', ['-q', '-e', '-c', command, '/dev/null'], {
    env: { ...process.env, TEMPORAL_ADDRESS: cluster.address, ...extra.env },
  });
  const exit = await run.exited;
  return { code: exit.code, output: run.stdout };
}

/** The screen the output leaves, scrollback included: each line's text and whether the terminal wrapped it. */
async function screenOf(output: string, columns: number): Promise<{ text: string; wrapped: boolean }[]> {
  const terminal = new xterm.Terminal({ cols: columns, rows: ROWS, scrollback: 1000, allowProposedApi: true });
  await new Promise<void>((resolve) => terminal.write(output, resolve));
  const buffer = terminal.buffer.active;
  const lines = [];
  for (let row = 0; row < buffer.length; row++) {
    const line = buffer.getLine(row);
    if (line) lines.push({ text: line.translateToString(true), wrapped: line.isWrapped });
  }
  terminal.dispose();
  return lines;
}

/**
 * Every frame the live view drew, as plain lines: log-update erases the previous frame (ending with ESC[2K ESC[G)
 * before it writes the next. The last one runs on into the results table.
 */
function framesOf(output: string): string[][] {
  return output.split('\x1b[2K\x1b[G').map((frame) => stripVTControlCharacters(frame.replace(/\r/g, '')).split('\n'));
}

const COUNTS = /^(\d+) done {2}(\d+) running {2}(\d+) queued {2}(\d+) failed$/;
const LANE = /^(lane-[ab]|-) trial \d+ /;

const progressLine = (sweepId: string) =>
  new RegExp(
    `^${sweepId}: \\d/8 done \\(\\d succeeded, \\d failed, 0 cancelled\\), \\d+ in flight(?:, best [\\d.]+ \\(trial \\d\\))?$`,
  );
const SUMMARY = (sweepId: string) => `sweep: sweep ${sweepId} failed: 6 of 8 trials succeeded, 2 failed, 0 cancelled`;

test('the live view redraws in place within the width; piped or --no-tty, the plain lines', async () => {
  const sweepId = await cluster.start(EIGHT_TRIALS, { settings: SETTINGS });
  const [narrow, wide, noTty, piped] = await Promise.all([
    watchOnTerminal(sweepId, 80, {}),
    watchOnTerminal(sweepId, 200, { env: { NO_COLOR: '1' } }),
    watchOnTerminal(sweepId, 80, { args: '--no-tty' }),
    cluster.sweep(['watch', sweepId]),
  ]);

  for (const [columns, run] of [
    [80, narrow],
    [200, wide],
  ] as const) {
    assert.equal(run.code, 1, run.output);
    assert.doesNotMatch(run.output, /Warning/);
    const screen = await screenOf(run.output, columns);
    const texts = screen.map((line) => line.text);
    const top = texts.indexOf(`sweep ${sweepId} failed`);
    const table = texts.findIndex((text) => /^trial +(?:name|params) /.test(text));
    assert.ok(top >= 0 && table > top, texts.join('\n'));
    // Every line of the view and of the results table: none wrapped or wider than the terminal. (The summary
    // after them is a message, which the terminal may wrap.)
    const summary = texts.findIndex((text) => text.startsWith('sweep: sweep '));
    assert.ok(summary > table, texts.join('\n'));
    assert.deepEqual(
      screen.slice(0, summary).filter((line) => line.wrapped || line.text.length > columns),
      [],
    );
    // No earlier frame left behind: one header, bar, count and time line, and no lane (nothing runs at the end).
    for (const pattern of [new RegExp(`^sweep ${sweepId}`), /^\[/, COUNTS, /^elapsed /])
      assert.equal(texts.filter((text) => pattern.test(text)).length, 1, `${pattern}:\n${texts.join('\n')}`);
    assert.deepEqual(
      texts.filter((text) => LANE.test(text)),
      [],
    );
    assert.deepEqual(texts.slice(top + 1, top + 3), [
      `[${'#'.repeat(23)}${'x'.repeat(7)}] 8/8`,
      '6 done  0 running  0 queued  2 failed',
    ]);
    assert.match(texts[top + 4] ?? '', /^best [\d.]+ \(trial \d\) x=\d seed=\d steps=4 step_ms=500 fail_on=3$/);
    // The table fits: at 80 columns with its parameters in one column, cut where they must be.
    if (columns === 80) assert.match(texts[table] ?? '', /^trial +params +state /);
    assert.equal(texts.slice(table + 1).filter((text) => /^ +\d+ /.test(text)).length, 8, texts.join('\n'));

    // While it ran: a trial held ready behind a busy slot took no lane (one slot, one lane a worker), and each
    // worker's lane showed its trial's step and last metric.
    const frames = framesOf(run.output);
    for (const frame of frames) {
      const lanes = frame.filter((line) => LANE.test(line));
      for (const worker of ['lane-a', 'lane-b'])
        assert.ok(lanes.filter((line) => line.startsWith(`${worker} `)).length <= 1, frame.join('\n'));
      const counts = frame.map((line) => COUNTS.exec(line)).find((match) => match !== null);
      if (counts) assert.equal(Number(counts[2]), lanes.length, frame.join('\n'));
    }
    for (const worker of ['lane-a', 'lane-b']) {
      const stepped = new RegExp(`^${worker} trial \\d+ t00\\d_x=\\d_seed=\\d step [1-4] loss=[\\d.]+$`);
      assert.ok(
        frames.some((frame) => frame.some((line) => stepped.test(line))),
        `${worker} never showed a step:\n${frames.map((frame) => frame.join('\n')).join('\n----\n')}`,
      );
    }
    const failures = texts.slice(top + 5, table).filter((text) => text !== '');
    assert.equal(failures.length, 2, texts.join('\n'));
    for (const line of failures) assert.match(line, /^failed trial [45] t00[45]_x=3_seed=[12]: boom/);
    if (columns === 200) for (const line of failures) assert.match(line, /: boom: trial x=3 fails on purpose$/);
    assert.ok(run.output.includes(SUMMARY(sweepId)), run.output);
  }
  assert.ok(narrow.output.includes('\x1b[32m'), 'colour on a terminal');
  assert.ok(!wide.output.includes('\x1b[32m') && !wide.output.includes('\x1b[1m'), 'no colour with NO_COLOR');

  // The plain lines: a progress line per change, then the summary (the results table is on stdout).
  const plain = (lines: string[]) => {
    assert.equal(lines.pop(), '');
    assert.equal(lines.pop(), SUMMARY(sweepId));
    for (const line of lines) assert.match(line, progressLine(sweepId));
    for (let index = 1; index < lines.length; index++) assert.notEqual(lines[index], lines[index - 1]);
  };
  assert.equal(piped.code, 1, piped.stderr);
  plain(piped.stderr.split('\n'));
  assert.match(piped.stdout, /^trial +name /);
  // Under a terminal stdout and stderr are one stream: the table comes between the progress and the summary.
  assert.equal(noTty.code, 1, noTty.output);
  const lines = noTty.output.replace(/\r/g, '').split('\n');
  const table = lines.findIndex((line) => /^trial +name /.test(line));
  plain([...lines.slice(0, table), ...lines.slice(lines.indexOf(SUMMARY(sweepId)))]);
});
