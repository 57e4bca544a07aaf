// A real browser for page tests: Debian's chromium, driven by playwright-core (no browser download).
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** What `npm test` installs (scripts/system-packages.ts) when the browser is missing. */
export function missingBrowser(): { command: string; package: string }[] {
  return existsSync(CHROMIUM) ? [] : [{ command: CHROMIUM, package: 'chromium' }];
}

export function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`page tests need ${CHROMIUM}: apt-get install chromium`);
  // As root, chromium refuses its sandbox; the page is our own file.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}
