import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startDevServer, type DevServer } from '../../src/server/dev-server.js';
import { connectClient, resolveConnectionConfig, type ConnectionConfig } from '../../src/temporal/connection-config.js';
import { restartablePort } from './free-port.js';

/** The run's shared dev server, started once by scripts/run-tests.ts. */
export function sharedServerConfig(): ConnectionConfig {
  const address = process.env.SWEEP_TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('SWEEP_TEST_TEMPORAL_ADDRESS is unset: run the tests with `npm test`');
  return resolveConnectionConfig({ address, namespace: 'default', tls: false }, {});
}

export async function sharedServerClient(): Promise<Client> {
  return connectClient(sharedServerConfig());
}

/** Task queues and workflow IDs unique to one test, so test files can share the server in parallel. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `sweep-${prefix}-`));
}

/** A private dev server for tests that kill or restart it (on the same port); same binary as the shared one. */
export async function startPrivateServer(dbFile: string, port?: number): Promise<DevServer> {
  const binary = process.env.SWEEP_TEMPORAL_BIN;
  if (!binary) throw new Error('SWEEP_TEMPORAL_BIN is unset: run the tests with `npm test`');
  return startDevServer({ binary, ip: '127.0.0.1', port: port ?? (await restartablePort()), dbFile });
}

let runtimeInstalled = false;

/** Workers in tests log at WARN: the SDK's INFO lines drown the test runner's report. Call before any Worker. */
export function quietWorkerRuntime(): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  runtimeInstalled = true;
}
