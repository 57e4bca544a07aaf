// The results table: a button in each header sorts on that column (again for the other way), a text box filters
// the rows. Buttons and a labelled input, so a keyboard does all of it.
import type { ReportData, ReportTrial } from '../report-data.js';
import { formatDuration, formatValue } from './format.js';

interface Column {
  readonly label: string;
  readonly cell: (trial: ReportTrial) => string;
  /** What the column sorts on: numbers in order, the rest as text; absent values always last. */
  readonly key: (trial: ReportTrial) => number | string | undefined;
}

export interface TableState {
  sortColumn: string;
  descending: boolean;
  filter: string;
}

function metricNumber(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function columnsOf(data: ReportData): Column[] {
  const metricNames = [...new Set(data.trials.flatMap((trial) => Object.keys(trial.metrics)))].sort();
  return [
    { label: '#', cell: (trial) => String(trial.index), key: (trial) => trial.index },
    { label: 'trial', cell: (trial) => trial.name, key: (trial) => trial.name },
    { label: 'state', cell: (trial) => trial.state, key: (trial) => trial.state },
    ...data.parameters.map((parameter) => ({
      label: parameter.name,
      cell: (trial: ReportTrial) => formatValue(trial.params[parameter.name] ?? ''),
      key: (trial: ReportTrial) => {
        const value = trial.params[parameter.name];
        return typeof value === 'number' ? value : formatValue(value ?? '');
      },
    })),
    ...(data.metric
      ? [
          {
            label: `best ${data.metric.name}`,
            cell: (trial: ReportTrial) => (trial.value === undefined ? '' : formatValue(trial.value)),
            key: (trial: ReportTrial) => trial.value,
          },
        ]
      : []),
    ...metricNames.map((name) => ({
      label: name,
      cell: (trial: ReportTrial) => (name in trial.metrics ? formatValue(trial.metrics[name]) : ''),
      key: (trial: ReportTrial) => metricNumber(trial.metrics[name]),
    })),
    {
      label: 'runtime',
      cell: (trial) => (trial.runtimeMs === undefined ? '' : formatDuration(trial.runtimeMs)),
      key: (trial) => trial.runtimeMs,
    },
    { label: 'worker', cell: (trial) => trial.worker ?? '', key: (trial) => trial.worker },
    {
      label: 'attempts',
      cell: (trial) => `${trial.attempts}${trial.lostAttempts ? ` (${trial.lostAttempts} lost)` : ''}`,
      key: (trial) => trial.attempts,
    },
    { label: 'cause', cell: (trial) => trial.cause ?? '', key: (trial) => trial.cause },
  ];
}

function compare(a: number | string | undefined, b: number | string | undefined): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

function sortedRows(trials: readonly ReportTrial[], column: Column, descending: boolean): ReportTrial[] {
  return [...trials].sort((a, b) => {
    const ka = column.key(a);
    const kb = column.key(b);
    // Absent values stay last whichever way the column sorts.
    if (ka === undefined || kb === undefined) return compare(ka, kb);
    return (descending ? -1 : 1) * compare(ka, kb) || a.index - b.index;
  });
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Draws the table into `host`, and again on each sort or filter; `state` keeps both across live refreshes. */
export function resultsTable(host: HTMLElement, data: ReportData, state: TableState): void {
  const columns = columnsOf(data);
  const column = columns.find((candidate) => candidate.label === state.sortColumn) ?? columns[0];
  if (!column) return;
  const needle = state.filter.trim().toLowerCase();
  const shown = sortedRows(data.trials, column, state.descending).filter(
    (trial) => !needle || columns.some((each) => each.cell(trial).toLowerCase().includes(needle)),
  );

  const filter = element('input');
  filter.type = 'search';
  filter.id = 'trial-filter';
  filter.value = state.filter;
  filter.placeholder = 'e.g. failed, lr, hostb-gpu1';
  const label = element('label', 'Filter trials ');
  label.htmlFor = filter.id;
  const count = element('span', `${shown.length} of ${data.trials.length} trials`);
  count.className = 'count';
  count.setAttribute('aria-live', 'polite');
  filter.addEventListener('input', () => {
    state.filter = filter.value;
    resultsTable(host, data, state);
    const again = host.querySelector<HTMLInputElement>('#trial-filter');
    again?.focus();
    again?.setSelectionRange(again.value.length, again.value.length);
  });

  const table = element('table');
  const head = table.createTHead().insertRow();
  for (const each of columns) {
    const th = element('th');
    th.scope = 'col';
    const sorted = each === column;
    th.setAttribute('aria-sort', sorted ? (state.descending ? 'descending' : 'ascending') : 'none');
    const button = element('button', `${each.label}${sorted ? (state.descending ? ' ▼' : ' ▲') : ''}`);
    button.type = 'button';
    button.dataset.column = each.label;
    button.addEventListener('click', () => {
      state.descending = sorted ? !state.descending : false;
      state.sortColumn = each.label;
      resultsTable(host, data, state);
      host.querySelector<HTMLButtonElement>(`button[data-column="${CSS.escape(each.label)}"]`)?.focus();
    });
    th.append(button);
    head.append(th);
  }
  const body = table.createTBody();
  for (const trial of shown) {
    const row = body.insertRow();
    row.dataset.index = String(trial.index);
    row.className = `state-${trial.state}`;
    for (const each of columns) row.insertCell().textContent = each.cell(trial);
  }
  const controls = element('div');
  controls.className = 'controls';
  controls.append(label, filter, count);
  const scroller = element('div');
  scroller.className = 'table-scroll';
  scroller.append(table);
  host.replaceChildren(controls, scroller);
}
