import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { reportData, type ReportData } from '../../report/report-data.js';
import { reportHtml } from '../../report/report-html.js';
import { parseCount } from '../option-parsers.js';
import { liveTrials, sweepMemo, sweepProgressOrCounts } from '../sweep-client.js';
import { sweepCommand } from '../sweep-command.js';
import { sweepTimeline } from '../sweep-timeline.js';
import { withClient } from '../with-client.js';

/** The sweep as it is now, as the report page draws it. */
async function currentReport(client: Client, sweepId: string, live: boolean): Promise<ReportData> {
  const memo = await sweepMemo(client, sweepId);
  const { progress } = await sweepProgressOrCounts(client, sweepId, memo);
  const running = memo.status === 'RUNNING' ? await liveTrials(client, sweepId, progress.running, memo.spec) : [];
  const timeline = await sweepTimeline(client, sweepId, memo, progress.startedAt, running);
  return reportData({
    sweepId,
    status: memo.status,
    live,
    now: Date.now(),
    spec: memo.spec,
    progress,
    trials: timeline.rows,
    attempts: timeline.spans,
    idle: timeline.idle,
    start: timeline.start,
    end: timeline.end,
  });
}

/** Serves the page and its data at 127.0.0.1:`port` until interrupted; the data is read afresh at most every second. */
async function serveLive(client: Client, sweepId: string, port: number): Promise<void> {
  let cached: { at: number; data: Promise<ReportData> } | undefined;
  const data = () => {
    if (!cached || Date.now() - cached.at > 1000)
      cached = { at: Date.now(), data: currentReport(client, sweepId, true) };
    return cached.data;
  };
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const answer = async () => {
      if (path === '/data.json') return { type: 'application/json', body: JSON.stringify(await data()) };
      if (path === '/' || path === '/index.html')
        return { type: 'text/html; charset=utf-8', body: reportHtml(await data()) };
      return undefined;
    };
    answer().then(
      (page) => {
        response.writeHead(page ? 200 : 404, {
          'content-type': page?.type ?? 'text/plain',
          'cache-control': 'no-store',
        });
        response.end(page?.body ?? 'not found');
      },
      (error: unknown) => {
        cached = undefined;
        response.writeHead(503, { 'content-type': 'text/plain' });
        response.end(error instanceof Error ? error.message : String(error));
      },
    );
  });
  await new Promise<void>((listening, failed) => {
    server.once('error', failed);
    server.listen(port, '127.0.0.1', listening);
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  process.stdout.write(
    `report of ${sweepId} at http://127.0.0.1:${bound}/ (refreshes while the sweep runs; Ctrl-C stops it)\n`,
  );
  await new Promise<void>((stopped) => {
    process.once('SIGINT', () => server.close(() => stopped()));
    process.once('SIGTERM', () => server.close(() => stopped()));
  });
}

export function registerReportCommand(program: Command): void {
  sweepCommand(program, 'report')
    .description(
      'write one self-contained HTML report (plots, GPU timeline and idle time, trials table); opens offline',
    )
    .option('--out <file>', 'where to write it (default: <sweep>.report.html here)')
    .option('--live', 'serve the report on a local port instead, refreshed while the sweep runs', false)
    .option('--port <port>', 'the port for --live (default: any free one)', parseCount(0), 0)
    .action(async (sweepId: string, options: { out?: string; live: boolean; port: number }, command: Command) =>
      withClient(command, async (client) => {
        if (options.live) return serveLive(client, sweepId, options.port);
        const out = resolve(options.out ?? `${sweepId}.report.html`);
        writeFileSync(out, reportHtml(await currentReport(client, sweepId, false)));
        process.stdout.write(`${out}\n`);
      }),
    );
}
