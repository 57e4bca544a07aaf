import { join } from 'node:path';
import type { Command } from 'commander';
import { ExitError } from '../../errors.js';
import { describeHolder, ExclusiveLock } from '../../host/exclusive-lock.js';
import { defaultDataDir } from '../../server/data-dir.js';
import { checkServerPorts, startDevServer } from '../../server/dev-server.js';
import { resolveTemporalBinary } from '../../server/temporal-binary.js';
import { parseKeyEqualsJson, parsePort } from '../option-parsers.js';

export interface ServerOptions {
  dataDir: string;
  ip: string;
  port: number;
  uiPort?: number;
  headless: boolean;
  namespace: string;
  dynamicConfig: string[];
}

/** Runs a local Temporal dev server with a persistent SQLite history until SIGINT/SIGTERM. */
export async function runServer(options: ServerOptions): Promise<void> {
  const uiPort = options.headless ? undefined : (options.uiPort ?? options.port + 1000);
  checkServerPorts({ port: options.port, uiPort });
  // Two servers on one SQLite history would both start and corrupt each other's view of it.
  const lock = ExclusiveLock.acquire(join(options.dataDir, 'server.lock'), `sweep server on port ${options.port}`);
  if (!(lock instanceof ExclusiveLock)) {
    const holder = describeHolder(lock.heldBy, 'another sweep server');
    throw new ExitError(
      `data directory ${options.dataDir} is in use by ${holder}; stop it first, or give --data-dir`,
      2,
    );
  }
  const binary = await resolveTemporalBinary();
  const dbFile = join(options.dataDir, 'temporal.db');
  const logFile = join(options.dataDir, 'temporal.log');
  const server = await startDevServer({
    binary: binary.path,
    ip: options.ip,
    port: options.port,
    uiPort,
    dbFile,
    logFile,
    namespace: options.namespace,
    dynamicConfig: options.dynamicConfig,
  });

  const lines = [
    `Temporal dev server ${binary.version} is ready`,
    `  gRPC address: ${server.address}   (namespace ${options.namespace})`,
    server.uiUrl ? `  Web UI:       ${server.uiUrl}` : '  Web UI:       off (--headless)',
    `  History:      ${dbFile}`,
    `  Server log:   ${logFile}`,
    'Press Ctrl-C to stop; the history survives restarts.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write('Stopping the Temporal dev server…\n');
    void server.stop();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const status = await server.exited;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  if (!stopping) {
    throw new ExitError(
      `the Temporal dev server stopped by itself (code ${status.code}, signal ${status.signal}); see ${logFile}:\n${server.outputTail()}`,
    );
  }
  process.stderr.write('Stopped.\n');
}

export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description('run a local Temporal dev server (SQLite history, Web UI) for sweeps on this machine')
    .option('--data-dir <dir>', 'where the SQLite history and the server log live', defaultDataDir())
    .option('--ip <address>', 'address to listen on (0.0.0.0 lets workers on other hosts connect)', '127.0.0.1')
    .option('--port <port>', 'gRPC port', parsePort, 7233)
    .option('--ui-port <port>', 'Web UI port (default: gRPC port + 1000)', parsePort)
    .option('--headless', 'run without the Web UI', false)
    .option('--namespace <name>', 'namespace to create besides "default"', 'default')
    .option('--dynamic-config <key=json>', 'extra server dynamic config value (repeatable)', parseKeyEqualsJson, [])
    .action(async (options: ServerOptions) => runServer(options));
}
