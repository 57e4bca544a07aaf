import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { ConfigError, ExitError, UsageError } from '../errors.js';
import { probeConnection } from '../temporal/connection-probe.js';
import { searchAttributeDeclarations } from '../temporal/search-attributes.js';
import { FAIR_DISPATCH_CONFIG } from '../temporal/fair-dispatch.js';

export interface DevServerOptions {
  readonly binary: string;
  readonly ip: string;
  readonly port: number;
  /** Web UI port; undefined runs the server headless. */
  readonly uiPort?: number;
  /** SQLite file; undefined keeps everything in memory (lost on exit). */
  readonly dbFile?: string;
  readonly namespace?: string;
  /** Extra `KEY=JSON` dynamic config values, after (and so overriding) Sweep's defaults. */
  readonly dynamicConfig?: readonly string[];
  /** The server's own output is appended here; the last lines are always kept for error messages. */
  readonly logFile?: string;
}

/**
 * Dynamic config every Sweep dev server gets: no outbound version check (these hosts may be offline), the
 * worker heartbeat APIs on, so `ListWorkers` can show live GPU workers, and task-queue priority and fairness
 * on, so sweeps share slots by owner and priority. Fairness is decided within a partition: new tasks go to one
 * (reads stay at four, so tasks a server of an older Sweep wrote elsewhere are still found). See docs/design.md.
 */
export const DEFAULT_DYNAMIC_CONFIG = [
  'frontend.enableServerVersionCheck=false',
  'frontend.WorkerHeartbeatsEnabled=true',
  'frontend.ListWorkersEnabled=true',
  ...FAIR_DISPATCH_CONFIG,
];

/**
 * Write-ahead logging, synced at checkpoints: every Temporal transaction no longer waits for an fsync, which on a
 * small machine was the limit on trials per second. A killed server (SIGKILL, OOM) loses nothing; only a power
 * failure can lose the last moments of history, never corrupt it. See docs/design.md.
 */
const SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'];

export function devServerArgs(options: DevServerOptions): string[] {
  const args = ['server', 'start-dev', '--ip', options.ip, '--port', String(options.port), '--log-level', 'warn'];
  if (options.uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(options.uiPort));
  if (options.dbFile) {
    args.push('--db-filename', options.dbFile);
    for (const pragma of SQLITE_PRAGMAS) args.push('--sqlite-pragma', pragma);
  }
  if (options.namespace && options.namespace !== 'default') args.push('--namespace', options.namespace);
  for (const value of [...DEFAULT_DYNAMIC_CONFIG, ...(options.dynamicConfig ?? [])]) {
    args.push('--dynamic-config-value', value);
  }
  for (const declaration of searchAttributeDeclarations()) args.push('--search-attribute', declaration);
  return args;
}

/** Fails with a usage error (exit 2) when something already listens on `ip:port`. */
export async function assertPortFree(ip: string, port: number, flag: string): Promise<void> {
  const problem = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error));
    probe.listen({ host: ip, port, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
  if (!problem) return;
  if (problem.code === 'EADDRINUSE') {
    throw new UsageError(
      `${flag} ${port}: ${ip}:${port} is already in use (another Temporal server?); pick a free port`,
    );
  }
  throw new UsageError(`${flag} ${port}: cannot listen on ${ip}:${port}: ${problem.message}`);
}

export interface ServerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const KEPT_OUTPUT_LINES = 40;

export class DevServer {
  readonly exited: Promise<ServerExit>;
  private readonly recentOutput: string[] = [];
  private exitStatus: ServerExit | undefined;

  constructor(
    readonly options: DevServerOptions,
    private readonly child: ChildProcess,
    log: WriteStream | undefined,
  ) {
    const keep = (chunk: string) => {
      log?.write(chunk);
      this.recentOutput.push(...chunk.split('\n').filter((line) => line.trim() !== ''));
      this.recentOutput.splice(0, Math.max(0, this.recentOutput.length - KEPT_OUTPUT_LINES));
    };
    child.stdout?.setEncoding('utf8').on('data', keep);
    child.stderr?.setEncoding('utf8').on('data', keep);
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.exitStatus = { code, signal };
        log?.end();
        resolve(this.exitStatus);
      });
    });
  }

  get address(): string {
    return `${this.options.ip}:${this.options.port}`;
  }

  get uiUrl(): string | undefined {
    return this.options.uiPort === undefined ? undefined : `http://${this.options.ip}:${this.options.uiPort}`;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get hasExited(): boolean {
    return this.exitStatus !== undefined;
  }

  /** The last lines the server printed, for error messages. */
  outputTail(lines = 15): string {
    return this.recentOutput.slice(-lines).join('\n');
  }

  /** SIGTERM (the server's own clean shutdown), then SIGKILL if it is still running after `graceMs`. */
  async stop(graceMs = 15_000): Promise<ServerExit> {
    if (this.exitStatus) return this.exitStatus;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const status = await this.exited;
    clearTimeout(timer);
    return status;
  }

  /** SIGKILL, as a crash or the OOM killer would. */
  async kill(): Promise<ServerExit> {
    if (this.exitStatus) return this.exitStatus;
    this.child.kill('SIGKILL');
    return this.exited;
  }
}

/** The ports' own problems, found before anything starts (a build, a lock, a server that would fail later). */
export function checkServerPorts(options: { readonly port: number; readonly uiPort?: number | undefined }): void {
  const { port, uiPort } = options;
  if (uiPort === undefined) return;
  if (uiPort === port) {
    throw new ConfigError([
      `--ui-port ${uiPort}: the same port as the gRPC --port; give the Web UI another one, or use --headless`,
    ]);
  }
  if (uiPort > 65535) {
    throw new ConfigError([
      `--ui-port: the default, --port + 1000 = ${uiPort}, is not a port; give --ui-port, or use --headless`,
    ]);
  }
}

/** Starts `temporal server start-dev` and resolves once it answers gRPC (and HTTP for the UI). */
export async function startDevServer(options: DevServerOptions, readyTimeoutMs = 120_000): Promise<DevServer> {
  checkServerPorts(options);
  await assertPortFree(options.ip, options.port, '--port');
  if (options.uiPort !== undefined) await assertPortFree(options.ip, options.uiPort, '--ui-port');
  if (options.dbFile) mkdirSync(dirname(options.dbFile), { recursive: true });
  let log: WriteStream | undefined;
  if (options.logFile) {
    mkdirSync(dirname(options.logFile), { recursive: true });
    log = createWriteStream(options.logFile, { flags: 'a' });
  }
  const child = spawn(options.binary, devServerArgs(options), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TEMPORAL_VERSION_CHECK_DISABLED: '1' },
  });
  const server = new DevServer(options, child, log);
  try {
    await waitUntilReady(server, readyTimeoutMs);
  } catch (error) {
    await server.kill();
    throw error;
  }
  return server;
}

/**
 * Waits until `DescribeNamespace` answers on gRPC (and the UI answers HTTP 200). A timeout says what the last
 * probe found, step by step: the port refused, it accepted TCP but spoke no gRPC, gRPC answered but the
 * namespace call failed (a server still starting, e.g. after a crash, answers with UNAVAILABLE for a while).
 */
async function waitUntilReady(server: DevServer, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const namespace = server.options.namespace ?? 'default';
  const grpc = `its gRPC port ${server.address}`;
  const notReady = async (lastProbe: string) => {
    if (server.hasExited) {
      const status = await server.exited;
      throw new ExitError(
        `the Temporal dev server exited (code ${status.code}, signal ${status.signal}) before it was ready ` +
          `(${lastProbe}); its last output:\n${server.outputTail()}`,
      );
    }
    if (Date.now() > deadline) {
      throw new ExitError(
        `the Temporal dev server was not ready within ${timeoutMs / 1000} s: ${lastProbe}; its last output:\n` +
          server.outputTail(),
      );
    }
    await delay(100);
  };

  // Each probe that gets no answer waits longer the next time: on a loaded 2-core machine a fresh channel may not
  // connect within the first deadline however often it is tried (seen after a long Go build).
  let probeDeadlineMs = PROBE_DEADLINE_MS;
  for (;;) {
    const refused = await probeConnection(server.address, undefined, 1000);
    if (refused) {
      await notReady(`${grpc} did not accept connections (${refused.reason})`);
      continue;
    }
    // No retries (the SDK's would hide the answer for 20 s) and a deadline: each probe reports what it got.
    const connection = Connection.lazy({ address: server.address, interceptors: [] });
    let lastProbe: string;
    try {
      await connection.withDeadline(Date.now() + probeDeadlineMs, () =>
        connection.workflowService.describeNamespace({ namespace }),
      );
      break;
    } catch (error) {
      lastProbe = `${grpc} accepts connections, but DescribeNamespace("${namespace}") did not succeed (${describeRpcError(error)})`;
      probeDeadlineMs = Math.min(probeDeadlineMs * 2, MAX_PROBE_DEADLINE_MS);
    } finally {
      await connection.close();
    }
    await notReady(lastProbe);
  }

  const uiUrl = server.uiUrl;
  if (!uiUrl) return;
  for (;;) {
    const answer = await fetch(uiUrl).then(
      (response) => response.status,
      (error: unknown) => ((error as Error).cause as Error | undefined)?.message ?? (error as Error).message,
    );
    if (answer === 200) return;
    await notReady(
      typeof answer === 'number'
        ? `gRPC is ready, but its Web UI ${uiUrl} answered HTTP ${answer}`
        : `gRPC is ready, but its Web UI ${uiUrl} did not answer (${answer})`,
    );
  }
}

const PROBE_DEADLINE_MS = 2000;
const MAX_PROBE_DEADLINE_MS = 16_000;
const GRPC_STATUS_NAMES: Record<number, string> = {
  1: 'CANCELLED',
  2: 'UNKNOWN',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
};

/** `UNAVAILABLE: Not enough hosts to serve the request`: the status and the server's own words. */
function describeRpcError(error: unknown): string {
  if (!isGrpcServiceError(error)) return error instanceof Error ? error.message : String(error);
  const code = Number(error.code);
  return `${GRPC_STATUS_NAMES[code] ?? `gRPC status ${code}`}: ${error.details.split('\n')[0]}`;
}
