// `npm run example`: the main job end to end on the embedded default. Builds (or reuses) the pinned Temporal
// CLI, brings up a local dev server (or uses the one already on 127.0.0.1:7233), starts two local CPU workers,
// runs examples/sweep.yml and prints its results table.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { defaultDataDir } from '../src/server/data-dir.js';
import { startDevServer, type DevServer } from '../src/server/dev-server.js';
import { resolveTemporalBinary } from '../src/server/temporal-binary.js';
import { buildProject } from './build-project.js';

buildProject();
const address = '127.0.0.1:7233';
const dataDir = join(defaultDataDir(), 'example');
const sweep = (args: string[], stdio: 'inherit' | 'pipe' = 'inherit'): ChildProcess =>
  spawn(process.execPath, ['bin/sweep.js', ...args], {
    stdio: ['ignore', stdio, 'inherit'],
    env: { ...process.env, TEMPORAL_ADDRESS: address },
  });

async function serverAlreadyUp(): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: '1s' }).catch(() => undefined);
  await connection?.close();
  return connection !== undefined;
}

let server: DevServer | undefined;
if (await serverAlreadyUp()) {
  process.stderr.write(`Using the Temporal server already running at ${address}.\n`);
} else {
  const binary = await resolveTemporalBinary();
  server = await startDevServer({
    binary: binary.path,
    ip: '127.0.0.1',
    port: 7233,
    uiPort: 8233,
    dbFile: join(dataDir, 'temporal.db'),
    logFile: join(dataDir, 'temporal.log'),
  });
  process.stderr.write(`Temporal dev server ${binary.version}: gRPC ${server.address}, Web UI ${server.uiUrl}\n`);
}

const workers = ['example-a', 'example-b'].map((name) =>
  sweep(['worker', '--cpu-slots', '2', '--queue', name, '--data-dir', dataDir], 'pipe'),
);
await Promise.all(
  workers.map(
    (worker) =>
      new Promise<void>((resolve, reject) => {
        worker.stdout?.setEncoding('utf8').on('data', (chunk: string) => chunk.includes('ready') && resolve());
        worker.once('exit', (code) => reject(new Error(`a worker exited early (code ${code})`)));
      }),
  ),
);
process.stderr.write('Two local workers with 2 CPU slots each are up. Running examples/sweep.yml…\n');

// --new: an earlier example interrupted mid-way leaves its sweep running (durably); this one starts afresh.
const run = sweep(['start', 'examples/sweep.yml', '--wait', '--new']);
const [code] = (await once(run, 'exit')) as [number | null];
for (const worker of workers) worker.kill('SIGTERM');
await Promise.all(workers.map((worker) => once(worker, 'exit')));
if (server) {
  await server.stop();
  process.stderr.write(
    `The sweep's history is kept: \`sweep server --data-dir ${dataDir}\` shows it in the Web UI again.\n`,
  );
}
process.exitCode = code ?? 1;
