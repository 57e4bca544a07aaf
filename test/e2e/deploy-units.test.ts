import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runSweep } from '../helpers/processes.js';

/** The flags an ExecStart line passes to `sweep <command>`. */
function execStart(unit: string): { command: string; flags: string[] } {
  const line = readFileSync(new URL(`../../deploy/systemd/${unit}`, import.meta.url), 'utf8')
    .split('\n')
    .find((text) => text.startsWith('ExecStart='));
  const words = (line ?? '').replace('ExecStart=/usr/bin/env sweep ', '').split(' ');
  return { command: words[0] ?? '', flags: words.filter((word) => word.startsWith('--')) };
}

for (const unit of ['sweep-worker@.service', 'sweep-server.service']) {
  test(`deploy/systemd/${unit} uses only flags that sweep accepts`, async () => {
    const { command, flags } = execStart(unit);
    const help = await runSweep([command, '--help']);
    assert.equal(help.code, 0);
    for (const flag of flags) assert.match(help.stdout, new RegExp(`${flag}[ ,=<]`), `${command} ${flag}`);
  });
}
