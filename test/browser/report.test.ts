// @run-alone: its idle gaps are compared with the trials' own clocks (scripts/run-tests.ts).
// `sweep report` for a known sweep (24 trials: 2 fail, 1 attempt lost with its SIGKILLed worker), opened from disk
// in a real chromium: no console error, no request, a mark per trial/attempt/gap in each plot, a table that sorts and
// filters by keyboard, and idle gaps equal to what the trial processes themselves recorded.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ReportData } from '../../src/report/report-data.js';
import { launchBrowser } from '../helpers/browser.js';
import { TestCluster } from '../helpers/cluster.js';
import { gapEndsRecord, gapInsideRecord } from '../helpers/idle-gaps.js';
import { startSweep, type RunningProcess } from '../helpers/processes.js';
import { sharedServerConfig, uniqueName } from '../helpers/temporal.js';
import { until } from '../helpers/until.js';

let cluster: TestCluster;
let browser: Browser;
let sweepId: string;
let reportFile: string;
let recordsFile: string;
const workers = new Map<string, RunningProcess>();

interface ProcessRecord {
  readonly event: 'start' | 'end';
  readonly trial: number;
  readonly attempt: number;
  readonly worker: string;
  readonly at: number;
}

function processRecords(): ProcessRecord[] {
  return readFileSync(recordsFile, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [event, trial, attempt, worker, at] = line.split(' ');
      return { event, trial: Number(trial), attempt: Number(attempt), worker, at: Number(at) } as ProcessRecord;
    });
}

before(async () => {
  cluster = new TestCluster(sharedServerConfig().address);
  for (const name of ['report-w1', 'report-w2']) workers.set(name, await cluster.startWorker(name, 1));
  recordsFile = join(cluster.dir, 'processes.txt');
  // sh and date start in a millisecond or two: these records are the processes' own start and end.
  const script = [
    `echo "start $SWEEP_TRIAL_INDEX $SWEEP_ATTEMPT $SWEEP_WORKER $(date +%s%3N)" >> ${recordsFile}`,
    'steps=4; if [ "$1" = 6 ]; then steps=40; fi',
    'for s in $(seq $steps); do sleep 0.1; echo "@sweep {\\"step\\": $s, \\"loss\\": $(awk "BEGIN { print $1 / $s }")}"; done',
    `if [ "$1" = 3 ]; then echo "end $SWEEP_TRIAL_INDEX $SWEEP_ATTEMPT $SWEEP_WORKER $(date +%s%3N)" >> ${recordsFile}; echo "boom: x=3 diverged" >&2; exit 3; fi`,
    `echo "end $SWEEP_TRIAL_INDEX $SWEEP_ATTEMPT $SWEEP_WORKER $(date +%s%3N)" >> ${recordsFile}`,
  ].join('\n');
  const spec = join(cluster.dir, `${uniqueName('report')}.yml`);
  writeFileSync(
    spec,
    `name: report-test\ncommand: [sh, -c, ${JSON.stringify(script)}, trial, "{x}"]\nargs: none\nretries: 0\n` +
      `metric: {name: loss, goal: minimize}\nparameters:\n  x: {range: [1, 13]}\n  lr: [0.0001, 0.1]\n`,
  );
  const started = await cluster.sweep(['start', spec, '--heartbeat-timeout', '3']);
  assert.equal(started.code, 0, started.stderr);
  sweepId = started.stdout.trim().split('\n')[0] ?? '';
  // A worker dies in the middle of a long trial (past its first heartbeats, so the server knows when it started):
  // that attempt is lost, and the trial runs again on the other worker.
  const victim = await until('a long trial (x=6) running for 2.8 s', () => {
    const start = existsSync(recordsFile)
      ? processRecords().find((record) => record.event === 'start' && (record.trial === 10 || record.trial === 11))
      : undefined;
    return start && Date.now() - start.at > 2800 ? start : undefined;
  });
  await workers.get(victim.worker)?.signal('SIGKILL');
  // It ends failed (two trials did): `watch` returns at the end either way.
  const watched = await cluster.sweep(['watch', sweepId, '--no-tty']);
  assert.match(watched.stderr, /22 of 24 trials succeeded, 2 failed/, watched.stdout);

  const dir = join(cluster.dir, 'report');
  mkdirSync(dir, { recursive: true });
  reportFile = join(dir, 'report.html');
  const written = await cluster.sweep(['report', sweepId, '--out', reportFile]);
  assert.equal(written.code, 0, written.stderr);
  assert.equal(written.stdout.trim(), reportFile);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await cluster.stop();
});

interface Opened {
  readonly page: Page;
  readonly errors: string[];
  readonly requests: string[];
  readonly data: ReportData;
}

async function openReport(width = 1280): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('request', (request) => requests.push(request.url()));
  const url = pathToFileURL(reportFile).href;
  await page.goto(url);
  await page.waitForSelector('#table table');
  const data = JSON.parse((await page.locator('#sweep-data').textContent()) ?? 'null') as ReportData;
  return { page, errors, requests: requests.filter((request) => request !== url), data };
}

const marks = (page: Page, selector: string) => page.locator(selector).count();

test('the report opens from disk with no error and no request, and draws a mark for each trial, attempt and gap', async () => {
  const { page, errors, requests, data } = await openReport();
  assert.deepEqual(errors, []);
  assert.deepEqual(requests, [], 'the page asks for nothing: everything is in the file');
  assert.equal(data.counts.total, 24);
  assert.equal(data.counts.succeeded, 22);
  assert.equal(data.counts.failed, 2);
  const lost = data.attempts.filter((span) => span.outcome === 'lost');
  assert.equal(lost.length, 1, JSON.stringify(data.attempts));
  assert.deepEqual(
    data.parameters.map((parameter) => [parameter.name, parameter.scale]),
    [
      ['x', 'linear'],
      ['lr', 'log'],
    ],
  );

  assert.equal(await marks(page, '[data-chart=parallel] g.trial-lines path'), 22);
  assert.equal(await marks(page, '[data-chart=metric-x] g.trial-dots circle'), 22);
  assert.equal(await marks(page, '[data-chart=metric-lr] g.trial-dots circle'), 22);
  assert.equal(await marks(page, '[data-chart=metric-x] g.best-trial circle'), 1);
  const curves =
    (await marks(page, '[data-chart=curves] g.trial-curves path')) +
    (await marks(page, '[data-chart=curves] g.best-trial-curves path'));
  assert.equal(curves, 22, 'a learning curve per trial that succeeded');
  assert.equal(await marks(page, '[data-chart=curves] g.best-trial-curves path'), 3);
  // The two failed trials (x=3) reported four steps before they failed: their curves show where.
  assert.equal(await marks(page, '[data-chart=curves] g.failed-trial-curves path'), 2);
  assert.equal(await marks(page, '[data-chart=curves] g.failed-trial-ends path'), 2);
  const failedCurves = data.trials.filter((trial) => trial.state === 'failed').map((trial) => trial.curve?.length);
  assert.deepEqual(failedCurves, [4, 4]);
  // 24 trials, one of which ran twice.
  assert.equal(await marks(page, '[data-chart=timeline] g.attempts rect'), 25);
  const titles = await page.locator('[data-chart=timeline] g.attempts rect title').allTextContents();
  assert.equal(titles.filter((title) => title.includes(' · lost · ')).length, 1);
  assert.equal(titles.filter((title) => title.includes(' · failed · ')).length, 2);
  assert.equal(await marks(page, '[data-chart=timeline] g.idle-gaps rect'), data.idle.gaps.length);
  assert.equal(await marks(page, '#idle-table tbody tr'), 3, 'both workers and their total');

  // Kept for a person to look at (SWEEP_REPORT_SCREENSHOT=path): the README's picture comes from here.
  const screenshot = process.env.SWEEP_REPORT_SCREENSHOT;
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  await page.close();
});

test("the report's idle gaps lie inside the gaps between the trial processes' own records, within 50 ms each", async () => {
  const { page, data } = await openReport();
  const records = processRecords();
  const recorded: { worker: string; from: number; to: number }[] = [];
  for (const worker of ['report-w1', 'report-w2']) {
    const starts = records.filter((record) => record.event === 'start' && record.worker === worker);
    const sorted = starts.sort((a, b) => a.at - b.at);
    sorted.slice(1).forEach((start, i) => {
      const previous = sorted[i];
      const end = records.find(
        (record) => record.event === 'end' && record.trial === previous?.trial && record.attempt === previous.attempt,
      );
      // The lost attempt has no end: its worker died with it, and its bar ends where the sweep learnt so.
      if (end) recorded.push({ worker, from: end.at, to: start.at });
    });
  }
  // Every gap in the report is a gap between two of a worker's processes (one with trials waiting throughout).
  const reported = data.idle.gaps.map((gap) => ({ worker: gap.worker, ms: gap.end - gap.start }));
  assert.ok(data.idle.gaps.length > 0);
  const afterLost = (gap: { worker: string; start: number }) =>
    data.attempts.some((span) => span.outcome === 'lost' && span.worker === gap.worker && span.end === gap.start);
  // After a worker is lost, its trial's retry starts waiting when the server says so, maybe mid-gap elsewhere.
  const lostAt = Math.min(...data.attempts.filter((span) => span.outcome === 'lost').map((span) => span.end));
  for (const gap of data.idle.gaps.filter((each) => !afterLost(each))) {
    const fits = (own: { from: number; to: number }) =>
      gapInsideRecord(gap, own) || (gap.start >= lostAt && gapEndsRecord(gap, own));
    const match = recorded.find((own) => own.worker === gap.worker && fits(own));
    assert.ok(match, `${gap.worker} gap ${gap.start}..${gap.end}: no such gap in ${JSON.stringify(recorded)}`);
  }
  const total = reported.reduce((sum, gap) => sum + gap.ms, 0);
  assert.ok(Math.abs(total - data.idle.idleMs) < 1);
  const shown = await page.locator('#idle-table tr[data-worker="all workers"]').getAttribute('data-idle-ms');
  assert.equal(Number(shown), Math.round(data.idle.idleMs));
  await page.close();
});

test('the table sorts and filters, by keyboard alone', async () => {
  const { page, data } = await openReport();
  const indices = () =>
    page.evaluate<number[]>(
      "[...document.querySelectorAll('#table tbody tr')].map((row) => Number(row.dataset.index))",
    );
  assert.deepEqual(await indices(), [...Array(24).keys()]);

  // Tab until the "best loss" sort button has the focus, then Enter: best first.
  for (let presses = 0; presses < 40; presses++) {
    const focused = await page.evaluate<string | undefined>('document.activeElement?.dataset?.column');
    if (focused === 'best loss') break;
    await page.keyboard.press('Tab');
  }
  assert.equal(await page.evaluate<string | undefined>('document.activeElement?.dataset?.column'), 'best loss');
  await page.keyboard.press('Enter');
  const byValue = [...data.trials]
    .sort((a, b) => (a.value ?? Infinity) - (b.value ?? Infinity) || a.index - b.index)
    .map((trial) => trial.index);
  assert.deepEqual(await indices(), byValue, 'ascending, trials without a value last');
  assert.equal(await page.locator('th[aria-sort=ascending] button').textContent(), 'best loss ▲');
  await page.keyboard.press('Enter');
  const descending = [...data.trials]
    .sort((a, b) => (b.value ?? -Infinity) - (a.value ?? -Infinity) || a.index - b.index)
    .map((trial) => trial.index);
  assert.deepEqual((await indices()).slice(0, 22), descending.slice(0, 22), 'descending, still without a value last');
  assert.equal(await page.locator('th[aria-sort=descending]').count(), 1);

  await page.locator('#trial-filter').focus();
  await page.keyboard.type('failed');
  assert.equal(await page.locator('#table tbody tr').count(), 2);
  assert.equal(await page.locator('#table .count').textContent(), '2 of 24 trials');
  await page.close();
});

test('report --live serves the same page and fresh data', async () => {
  const server = startSweep(['report', sweepId, '--live'], {
    env: { ...process.env, TEMPORAL_ADDRESS: sharedServerConfig().address },
  });
  try {
    const [, url] = (await server.waitForOutput(/at (http:\/\/127\.0\.0\.1:\d+\/)/)) as unknown as [string, string];
    const first = (await (await fetch(new URL('data.json', url))).json()) as ReportData;
    assert.equal(first.sweepId, sweepId);
    assert.equal(first.live, true);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(url);
    await page.waitForSelector('#table table');
    assert.equal(await marks(page, '[data-chart=timeline] g.attempts rect'), first.attempts.length);
    assert.match((await page.locator('header .status').textContent()) ?? '', /^live · completed/);
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    await server.signal('SIGINT');
  }
});
