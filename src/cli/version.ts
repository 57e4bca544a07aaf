import { readFileSync } from 'node:fs';

/** Sweep's version, from the package.json two levels up from both src/cli and dist/cli. */
export const sweepVersion: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
