import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import { LiveScreen, type LiveFrame } from '../../../src/cli/live-screen.js';

/** Enough of a terminal stream for log-update: a width, and what was written. */
class FakeTerminal extends EventEmitter {
  readonly isTTY = true;
  columns = 80;
  rows = 30;
  written = '';
  write(text: string): boolean {
    this.written += text;
    return true;
  }
}

const frame: LiveFrame = {
  progress: {
    sweepId: `a-sweep-with-a-long-name-${'x'.repeat(50)}`,
    state: 'running',
    counts: { total: 4, succeeded: 1, failed: 0, cancelled: 0 },
    running: [],
    nextIndex: 1,
    startedAt: 1000,
    runs: 1,
    updateVersion: 0,
  },
  live: [],
  finished: [],
  notes: [],
  now: 6000,
};

/** The lines of the latest frame (log-update erases the previous one with ESC[2K first). */
const latestLines = (terminal: FakeTerminal) =>
  stripVTControlCharacters(terminal.written.split('\x1b[2K').at(-1) ?? '')
    .split('\n')
    .filter((line) => line !== '');

test('redrawn at the new width when the terminal is resized', () => {
  const terminal = new FakeTerminal();
  const screen = new LiveScreen(terminal as unknown as NodeJS.WriteStream);
  screen.show(frame);
  assert.ok(latestLines(terminal).some((line) => line.length > 40));
  terminal.columns = 40;
  terminal.emit('resize');
  const lines = latestLines(terminal);
  assert.equal(lines[0], `sweep ${frame.progress.sweepId}`.slice(0, 40));
  assert.ok(lines.every((line) => line.length <= 40));
  screen.done();
  assert.equal(terminal.listenerCount('resize'), 0);
});

test('no colour when NO_COLOR is set', () => {
  const before = process.env.NO_COLOR;
  process.env.NO_COLOR = '1';
  try {
    const terminal = new FakeTerminal();
    const screen = new LiveScreen(terminal as unknown as NodeJS.WriteStream);
    screen.show(frame);
    screen.done();
    // The header is bold and the done count green when coloured.
    assert.ok(!terminal.written.includes('\x1b[1m') && !terminal.written.includes('\x1b[32m'), terminal.written);
  } finally {
    if (before === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = before;
  }
});
