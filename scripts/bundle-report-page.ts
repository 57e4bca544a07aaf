// Part of `npm run build`: bundles the report page (src/report/page) with Observable Plot into one minified
// script, which `sweep report` inlines into each report so that the file needs nothing else.
import { build } from 'esbuild';
import { REPORT_PAGE_SCRIPT } from '../src/report/report-html.js';

await build({
  entryPoints: [new URL('../src/report/page/main.ts', import.meta.url).pathname],
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  platform: 'browser',
  outfile: REPORT_PAGE_SCRIPT,
  logLevel: 'warning',
  legalComments: 'eof',
});
