// The report page: reads the sweep's data from the page itself (a file that opens offline), draws it, and under
// `sweep report --live` asks the server for fresh data every few seconds and draws it again.
import type { ReportData } from '../report-data.js';
import { gpuTimeline, learningCurves, metricAgainst, parallelCoordinates, rankedTrials } from './charts.js';
import { formatDuration, formatPercent, formatValue } from './format.js';
import { resultsTable, type TableState } from './table.js';

const LIVE_REFRESH_MS = 3000;

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function section(id: string, title: string, ...content: (Node | string)[]): HTMLElement {
  const node = element('section');
  node.id = id;
  node.setAttribute('aria-labelledby', `${id}-title`);
  const heading = element('h2', title);
  heading.id = `${id}-title`;
  node.append(heading, ...content);
  return node;
}

/** A chart's figure, with `data-chart` naming it for tests and a note when there is nothing to draw. */
function figure(name: string, chart: Element | undefined, empty: string): HTMLElement {
  const node = element('figure');
  node.dataset.chart = name;
  node.append(chart ?? element('p', empty, 'empty'));
  return node;
}

function card(label: string, value: string, detail = ''): HTMLElement {
  const node = element('div', undefined, 'card');
  node.append(element('div', label, 'label'), element('div', value, 'value'), element('div', detail, 'detail'));
  return node;
}

function summary(data: ReportData): HTMLElement {
  const { counts } = data;
  const best = rankedTrials(data)[0];
  const cards = element('div', undefined, 'cards');
  cards.append(
    card(
      'trials',
      String(counts.total),
      `${counts.succeeded} succeeded · ${counts.failed} failed · ${counts.running} running · ${counts.queued} queued${counts.cancelled ? ` · ${counts.cancelled} cancelled` : ''}`,
    ),
    card('wall time', formatDuration(data.endedAt - data.startedAt), new Date(data.startedAt).toLocaleString()),
    card(
      'GPU idle',
      formatPercent(data.idle.idleShare),
      `${formatDuration(data.idle.idleMs)} over ${data.idle.workers.length} worker(s)`,
    ),
  );
  if (best && data.metric) {
    const params = Object.entries(best.params)
      .map(([name, value]) => `${name}=${formatValue(value)}`)
      .join(' ');
    cards.append(card(`best ${data.metric.name}`, formatValue(best.value), `${best.name} · ${params}`));
  }
  cards.id = 'summary';
  return cards;
}

function idleTable(data: ReportData): HTMLElement {
  const table = element('table');
  table.id = 'idle-table';
  const head = table.createTHead().insertRow();
  for (const label of ['worker', 'busy', 'idle', 'idle share of wall time']) {
    const th = element('th', label);
    th.scope = 'col';
    head.append(th);
  }
  const body = table.createTBody();
  const rows = [
    ...data.idle.workers.map((worker) => ({
      ...worker,
      share: data.idle.wallMs ? worker.idleMs / data.idle.wallMs : 0,
    })),
    {
      worker: 'all workers',
      busyMs: data.idle.workers.reduce((sum, worker) => sum + worker.busyMs, 0),
      idleMs: data.idle.idleMs,
      share: data.idle.idleShare,
    },
  ];
  for (const row of rows) {
    const tr = body.insertRow();
    tr.dataset.worker = row.worker;
    tr.dataset.idleMs = String(Math.round(row.idleMs));
    for (const cell of [row.worker, formatDuration(row.busyMs), formatDuration(row.idleMs), formatPercent(row.share)]) {
      tr.insertCell().textContent = cell;
    }
  }
  return table;
}

const tableState: TableState = { sortColumn: '#', descending: false, filter: '' };

function draw(root: HTMLElement, data: ReportData): void {
  const width = Math.max(480, Math.min(1200, root.clientWidth || 1000));
  const title = `${data.name ?? 'sweep'} · ${data.sweepId}`;
  document.title = `Sweep report · ${title}`;
  const header = element('header');
  const status = data.live
    ? `live · ${data.status} · updated ${new Date(data.generatedAt).toLocaleTimeString()}`
    : `${data.status} · generated ${new Date(data.generatedAt).toLocaleString()}`;
  header.append(element('h1', title), element('p', status, 'status'));

  const perParameter = element('div', undefined, 'small-multiples');
  const smallWidth = data.parameters.length > 1 ? Math.max(320, Math.floor((width - 80) / 2)) : width;
  for (const parameter of data.parameters) {
    perParameter.append(
      figure(
        `metric-${parameter.name}`,
        metricAgainst(data, parameter, smallWidth),
        'no trial has the sweep metric yet',
      ),
    );
  }
  const noMetric = data.metric ? 'no trial has the sweep metric yet' : 'the sweep names no metric';
  const idleDefinition = element(
    'p',
    'Idle: time a worker had none of this sweep’s trials running while the sweep had trials waiting (not started yet, or lost and not started again), between its first attempt and its last.',
    'note',
  );
  const tableHost = element('div');
  tableHost.id = 'results';
  resultsTable(tableHost, data, tableState);
  root.replaceChildren(
    header,
    summary(data),
    section('parallel', 'Parameters and metric', figure('parallel', parallelCoordinates(data, width), noMetric)),
    section(
      'per-parameter',
      data.metric ? `${data.metric.name} against each parameter` : 'Metric against each parameter',
      perParameter,
    ),
    section(
      'curves',
      'Learning curves',
      figure('curves', learningCurves(data, width), 'no trial reported the sweep metric over steps yet'),
    ),
    section(
      'timeline',
      'GPU timeline',
      figure('timeline', gpuTimeline(data, width), 'no attempt has run yet'),
      idleTable(data),
      idleDefinition,
    ),
    section('table', 'Trials', tableHost),
  );
}

function readEmbedded(): ReportData {
  const source = document.getElementById('sweep-data')?.textContent ?? 'null';
  return JSON.parse(source) as ReportData;
}

/** Draws again only when something changed, so a refresh leaves the reader's focus and place alone. */
async function refresh(root: HTMLElement, shown: string): Promise<void> {
  let latest = shown;
  const status = root.querySelector('header .status');
  try {
    const response = await fetch('data.json', { cache: 'no-store' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const data = (await response.json()) as ReportData;
    latest = JSON.stringify({ ...data, generatedAt: 0 });
    if (latest !== shown) draw(root, data);
    else if (status)
      status.textContent = `live · ${data.status} · updated ${new Date(data.generatedAt).toLocaleTimeString()}`;
  } catch {
    if (status) status.textContent = 'live · the report server does not answer (sweep report --live stopped?)';
  }
  setTimeout(() => void refresh(root, latest), LIVE_REFRESH_MS);
}

const root = document.getElementById('report');
if (root) {
  const data = readEmbedded();
  draw(root, data);
  // Opened from disk, the page is what it was when written; served by `sweep report --live`, it follows the sweep.
  if (data.live && location.protocol.startsWith('http')) {
    const shown = JSON.stringify({ ...data, generatedAt: 0 });
    setTimeout(() => void refresh(root, shown), LIVE_REFRESH_MS);
  }
}
