import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDevServer } from '../../src/server/dev-server.js';
import { freePort } from './free-port.js';
import type { SshLab } from './ssh-lab.js';
import { tempDir } from './temporal.js';

/** A dev server of its own for a lab, and the address at which the CLI and every lab host reach it. */
export async function startLabServer(lab: SshLab): Promise<{ address: string; stop: () => Promise<void> }> {
  const binary = process.env.SWEEP_TEMPORAL_BIN;
  if (!binary) throw new Error('SWEEP_TEMPORAL_BIN is unset: run the tests with npm test');
  const port = await freePort();
  // Bound to every address: bound to the bridge's alone, the dev server's calls to itself on 127.0.0.1 (which
  // ListWorkers makes) are refused, and no worker is ever listed.
  const dir = tempDir('lab-server');
  const server = await startDevServer({ binary, ip: '0.0.0.0', port, dbFile: join(dir, 'temporal.db') });
  const stop = async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return { address: `${lab.serverAddress}:${port}`, stop };
}

/** A records file for test/fixtures/trial.mjs that the trials of every lab user can append to. */
export function sharedRecordsFile(): string {
  const dir = tempDir('lab-records');
  chmodSync(dir, 0o777);
  const file = join(dir, 'records.jsonl');
  writeFileSync(file, '');
  chmodSync(file, 0o666);
  return file;
}
