// One self-contained HTML file: the page's script (Observable Plot bundled in, see scripts/bundle-report-page.ts),
// its styles and the sweep's data, so it opens from disk, offline, with no request to anywhere.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ReportData } from './report-data.js';

/** Built by `npm run build` beside this module's compiled copy. */
export const REPORT_PAGE_SCRIPT = fileURLToPath(new URL('../../dist/report/page.js', import.meta.url));

const STYLE = `
:root { color-scheme: light; --ink: #212529; --muted: #6c757d; --line: #dee2e6; --accent: #1c7ed6; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f8f9fa; }
main { max-width: 1240px; margin: 0 auto; padding: 20px; }
header h1 { font-size: 20px; margin: 0; }
header .status { color: var(--muted); margin: 2px 0 16px; }
section { background: white; border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; margin: 16px 0; }
h2 { font-size: 16px; margin: 0 0 8px; }
figure { margin: 0; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; }
.card { background: white; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 180px; flex: 1; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 22px; font-weight: 600; }
.card .detail { color: var(--muted); font-size: 12px; overflow-wrap: anywhere; }
.small-multiples { display: flex; flex-wrap: wrap; gap: 16px; }
.note, .empty { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th button { font: inherit; font-weight: 600; border: 0; background: none; padding: 2px 0; cursor: pointer; color: var(--ink); }
th button:focus-visible, input:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.table-scroll { overflow-x: auto; max-height: 640px; overflow-y: auto; }
.controls { display: flex; gap: 10px; align-items: center; margin-bottom: 8px; }
.controls input { padding: 4px 8px; border: 1px solid var(--line); border-radius: 4px; min-width: 240px; }
.count { color: var(--muted); }
tr.state-failed td { color: #c92a2a; }
tr.state-running td { color: var(--accent); }
#idle-table { margin-top: 8px; }
`;

/** JSON inside a script element: `<` escaped, so no value can close the element early. */
function embeddedJson(data: ReportData): string {
  return JSON.stringify(data).replace(/</g, '\\u003c');
}

export function reportHtml(data: ReportData, script = readPageScript()): string {
  const title = `Sweep report · ${data.name ?? 'sweep'} · ${data.sweepId}`.replace(/[<&]/g, (c) =>
    c === '<' ? '&lt;' : '&amp;',
  );
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // Nothing from elsewhere, ever: the page is all here.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'">`,
    `<title>${title}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<main id="report"><p>Drawing the report…</p></main>',
    `<script type="application/json" id="sweep-data">${embeddedJson(data)}</script>`,
    `<script>${script.replace(/<\/script/gi, '<\\/script')}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function readPageScript(): string {
  if (!existsSync(REPORT_PAGE_SCRIPT)) {
    throw new Error(
      `the report page is not built (${REPORT_PAGE_SCRIPT}); run \`npm run build\` in the Sweep checkout`,
    );
  }
  return readFileSync(REPORT_PAGE_SCRIPT, 'utf8');
}
