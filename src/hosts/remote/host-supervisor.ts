// Keeps one host's workers running: `node host-supervisor.js <stateDir>`, started by the host agent (under systemd
// where the user's manager can keep it, else detached). It may be shipped as a file of its own, so it imports only
// `node:` built-ins and repeats the few helpers it shares with host-agent.ts. Linux only: it reads /proc.
//
// <stateDir>/workers.json      what to run: {"workers":[{"name","argv","cwd"}]}
// <stateDir>/connection.json   how the workers reach Temporal (0600): given to them as TEMPORAL_* variables, never
//                              on a command line, where any user on the host could read an API key
// <stateDir>/supervisor.pid    this process; <stateDir>/run/<name>.pid each worker's
// <stateDir>/status.json       what runs, restarts, last exits: read by the agent's `status`
// <stateDir>/logs/             supervisor.log and <name>.log (a worker's stdout and stderr)
//
// SIGHUP re-reads both files and restarts only the workers whose argv, cwd or connection changed; SIGTERM or SIGINT
// stops every worker (30 s to hand back its trials, then SIGKILL) and exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// The agent ships in the same bundle; importing it runs nothing (it runs only when piped to `node -`).
import { errorCode, errorMessage, expandHome, isAlive, isRecord, readPidFile } from './host-agent.js';

const STATE_ENV = 'SWEEP_HOST_STATE';
/** How long a worker has to hand back its trials after SIGTERM. */
const STOP_GRACE_MS = 30_000;
const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 30_000;
/** A worker up this long was healthy: its next crash starts the backoff again from the first step. */
const STABLE_UPTIME_MS = 60_000;
const HEARTBEAT_MS = 30_000;

/** connection.json, as `sweep hosts up` writes it (the fields of the CLI's connection settings). */
export interface ConnectionSettings {
  readonly address: string;
  readonly namespace: string;
  readonly apiKey?: string;
  readonly tls?: boolean;
  readonly tlsServerName?: string;
  readonly tlsCaPath?: string;
  readonly tlsCertPath?: string;
  readonly tlsKeyPath?: string;
}

export const CONNECTION_ENV = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_SERVER_NAME',
  'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_KEY_PATH',
] as const;

const CONNECTION_FIELDS: Record<keyof ConnectionSettings, [(typeof CONNECTION_ENV)[number], 'string' | 'boolean']> = {
  address: ['TEMPORAL_ADDRESS', 'string'],
  namespace: ['TEMPORAL_NAMESPACE', 'string'],
  apiKey: ['TEMPORAL_API_KEY', 'string'],
  tls: ['TEMPORAL_TLS', 'boolean'],
  tlsServerName: ['TEMPORAL_TLS_SERVER_NAME', 'string'],
  tlsCaPath: ['TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'string'],
  tlsCertPath: ['TEMPORAL_TLS_CLIENT_CERT_PATH', 'string'],
  tlsKeyPath: ['TEMPORAL_TLS_CLIENT_KEY_PATH', 'string'],
};

/**
 * The TEMPORAL_* variables for a connection. `tls` left out leaves TEMPORAL_TLS unset, so that the worker's own
 * rule (an API key or a certificate implies TLS) decides, as it would for a user who set only those.
 */
export function connectionEnv(settings: ConnectionSettings): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [field, [name]] of Object.entries(CONNECTION_FIELDS)) {
    const value = settings[field as keyof ConnectionSettings];
    if (typeof value === 'boolean') env[name] = value ? '1' : '0';
    else if (typeof value === 'string' && value !== '') env[name] = value;
  }
  return env;
}

/** Checks connection.json's content; every problem in one message. */
export function parseConnection(value: unknown): ConnectionSettings {
  if (!isRecord(value)) throw new Error('connection.json: expected a JSON object');
  const problems: string[] = [];
  for (const [key, field] of Object.entries(value)) {
    const rule = CONNECTION_FIELDS[key as keyof ConnectionSettings] as
      (typeof CONNECTION_FIELDS)['address'] | undefined;
    if (!rule) problems.push(`${key}: unknown key`);
    else if (typeof field !== rule[1] || field === '') problems.push(`${key}: expected a ${rule[1]}`);
  }
  for (const key of ['address', 'namespace']) if (!(key in value)) problems.push(`${key}: missing`);
  if (problems.length > 0) throw new Error(`connection.json: ${problems.join('; ')}`);
  return value as unknown as ConnectionSettings;
}

export interface WorkerSpec {
  readonly name: string;
  readonly argv: readonly string[];
  readonly cwd: string;
}

export function parseWorkers(value: unknown): WorkerSpec[] {
  if (!isRecord(value) || !Array.isArray(value.workers)) throw new Error('workers.json: expected {"workers":[...]}');
  const names = new Set<string>();
  return value.workers.map((worker: unknown, index): WorkerSpec => {
    const at = `workers.json workers[${index}]`;
    if (!isRecord(worker)) throw new Error(`${at}: expected {name, argv, cwd}`);
    const { name, argv, cwd } = worker;
    // The name becomes a file name under logs/ and run/.
    if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new Error(`${at}.name: bad name`);
    if (names.has(name)) throw new Error(`${at}.name: ${name} is named twice`);
    names.add(name);
    if (!Array.isArray(argv) || argv.length === 0 || !argv.every((arg) => typeof arg === 'string')) {
      throw new Error(`${at}.argv: expected a non-empty list of strings`);
    }
    if (typeof cwd !== 'string' || cwd === '') throw new Error(`${at}.cwd: expected a directory`);
    return { name, argv, cwd };
  });
}

function writeAtomic(path: string, text: string, mode = 0o644): void {
  const partial = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(partial, text, { mode });
  renameSync(partial, path);
}

function carriesMarker(pid: number, entry: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(entry);
  } catch {
    return false;
  }
}

/** Whether pid runs `node [flags] <script> <stateDir>` for this stateDir (checked so that a reused pid is not it). */
function isSupervisorFor(pid: number, stateDir: string): boolean {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (args.at(-1) === '') args.pop();
    const rest = args.slice(1);
    const at = rest.findIndex((arg) => !arg.startsWith('-'));
    const dir = rest[at + 1];
    return at >= 0 && dir !== undefined && rest.length === at + 2 && resolve(dir) === stateDir;
  } catch {
    return false;
  }
}

/** Signals a worker's process group (its trials with it); the worker alone where it has no group of its own. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // gone
    }
  }
}

interface WorkerExit {
  readonly code: number | null;
  readonly signal: string | null;
  readonly at: string;
  readonly error?: string;
}

interface Worker {
  readonly spec: WorkerSpec;
  /** argv, cwd and connection: what a reload compares. */
  readonly key: string;
  readonly env: NodeJS.ProcessEnv;
  child?: ChildProcess;
  pid?: number;
  startedAt?: number;
  restarts: number;
  lastExit?: WorkerExit;
  backoffMs: number;
  timer?: NodeJS.Timeout;
  nextStartAt?: number;
  stopping: boolean;
  exitWaiters: (() => void)[];
}

class Supervisor {
  private readonly workers = new Map<string, Worker>();
  private readonly marker: string;
  private shuttingDown = false;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly stateDir: string) {
    this.marker = `${STATE_ENV}=${stateDir}`;
  }

  private path(...parts: string[]): string {
    return join(this.stateDir, ...parts);
  }

  log(message: string): void {
    try {
      appendFileSync(this.path('logs', 'supervisor.log'), `${new Date().toISOString()} ${message}\n`);
    } catch {
      // the log is a courtesy; a full disk must not take the workers down with it
    }
  }

  /** Takes supervisor.pid, or throws when another supervisor for this directory holds it. */
  claim(): void {
    const path = this.path('supervisor.pid');
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
        return;
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') throw error;
      }
      const other = readPidFile(path);
      if (other !== undefined && other !== process.pid && isAlive(other) && isSupervisorFor(other, this.stateDir)) {
        throw new Error(`another supervisor (pid ${other}) already runs for ${this.stateDir}`);
      }
      rmSync(path, { force: true });
    }
    throw new Error(`could not take ${path}`);
  }

  release(): void {
    const path = this.path('supervisor.pid');
    if (readPidFile(path) === process.pid) rmSync(path, { force: true });
  }

  /** Workers a previous supervisor left running (it was killed): stopped, or they would run twice. */
  async stopLeftovers(): Promise<void> {
    const pids: number[] = [];
    for (const file of readdirSync(this.path('run'))) {
      if (!file.endsWith('.pid')) continue;
      const pid = readPidFile(this.path('run', file));
      if (pid !== undefined && isAlive(pid) && carriesMarker(pid, this.marker)) pids.push(pid);
      rmSync(this.path('run', file), { force: true });
    }
    if (pids.length === 0) return;
    this.log(`stopping workers a previous supervisor left running: ${pids.join(', ')}`);
    for (const pid of pids) signalGroup(pid, 'SIGTERM');
    const deadline = Date.now() + STOP_GRACE_MS;
    while (pids.some(isAlive) && Date.now() < deadline) await new Promise((wake) => setTimeout(wake, 100));
    for (const pid of pids) signalGroup(pid, 'SIGKILL');
  }

  private readDesired(): Map<string, { spec: WorkerSpec; key: string; env: NodeJS.ProcessEnv }> {
    let workers: WorkerSpec[] = [];
    try {
      workers = parseWorkers(JSON.parse(readFileSync(this.path('workers.json'), 'utf8')));
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
    }
    let connection: Record<string, string> | undefined;
    const connectionPath = this.path('connection.json');
    try {
      connection = connectionEnv(parseConnection(JSON.parse(readFileSync(connectionPath, 'utf8'))));
      if ((statSync(connectionPath).mode & 0o077) !== 0) this.log('warning: connection.json is readable by others');
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
    }
    const base: NodeJS.ProcessEnv = { ...process.env };
    // Settings that connection.json leaves out must not come from wherever this process was started.
    if (connection) for (const name of CONNECTION_ENV) delete base[name];
    const env = { ...base, ...connection, [STATE_ENV]: this.stateDir };
    return new Map(
      workers.map((spec) => [
        spec.name,
        { spec, env, key: JSON.stringify({ argv: spec.argv, cwd: spec.cwd, connection: connection ?? null }) },
      ]),
    );
  }

  /** Re-reads the files; runs one reload at a time, and once more if asked meanwhile. */
  async reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.reloadAgain = false;
        await this.apply();
      } while (this.reloadAgain && !this.shuttingDown);
    })();
    try {
      await this.reloading;
    } finally {
      this.reloading = undefined;
    }
  }

  private async apply(): Promise<void> {
    let desired;
    try {
      desired = this.readDesired();
    } catch (error) {
      this.log(`kept the workers as they are: ${errorMessage(error)}`);
      return;
    }
    const outdated = [...this.workers.values()].filter((worker) => desired.get(worker.spec.name)?.key !== worker.key);
    for (const worker of outdated)
      this.log(`stopping ${worker.spec.name}: ${desired.has(worker.spec.name) ? 'changed' : 'removed'}`);
    await Promise.all(outdated.map((worker) => this.stopWorker(worker)));
    for (const worker of outdated) this.workers.delete(worker.spec.name);
    if (this.shuttingDown) return;
    for (const [name, wanted] of desired) {
      if (this.workers.has(name)) continue;
      const worker: Worker = { ...wanted, restarts: 0, backoffMs: FIRST_BACKOFF_MS, stopping: false, exitWaiters: [] };
      this.workers.set(name, worker);
      this.startWorker(worker);
    }
    this.writeStatus();
  }

  private startWorker(worker: Worker): void {
    const { name, argv, cwd } = worker.spec;
    worker.timer = undefined;
    worker.nextStartAt = undefined;
    const [command = '', ...args] = argv;
    let child: ChildProcess;
    const log = openSync(this.path('logs', `${name}.log`), 'a');
    try {
      // Its own process group, so that stopping it reaches the trials it started, and a signal meant for the
      // supervisor's group (a Ctrl-C where it was started by hand) does not reach it.
      child = spawn(command, args, { cwd, env: worker.env, detached: true, stdio: ['ignore', log, log] });
    } catch (error) {
      this.exited(worker, undefined, { code: null, signal: null, error: errorMessage(error) });
      return;
    } finally {
      closeSync(log); // the child has its own copy by now
    }
    worker.child = child;
    worker.pid = child.pid;
    worker.startedAt = Date.now();
    if (child.pid !== undefined) writeFileSync(this.path('run', `${name}.pid`), `${child.pid}\n`);
    this.log(`started ${name} (pid ${child.pid ?? '?'})`);
    child.once('exit', (code, signal) => this.exited(worker, child, { code, signal }));
    child.once('error', (error) => {
      if (child.pid === undefined) this.exited(worker, child, { code: null, signal: null, error: error.message });
    });
    this.writeStatus();
  }

  private exited(
    worker: Worker,
    child: ChildProcess | undefined,
    how: { code: number | null; signal: string | null; error?: string },
  ): void {
    if (child && worker.child !== child) return;
    const pid = worker.pid;
    const uptime = worker.startedAt === undefined ? 0 : Date.now() - worker.startedAt;
    worker.child = undefined;
    worker.pid = undefined;
    // What the worker left in its group (trials it started) would hold GPUs nobody watches any more.
    if (pid !== undefined) signalGroup(pid, 'SIGKILL');
    rmSync(this.path('run', `${worker.spec.name}.pid`), { force: true });
    worker.lastExit = { ...how, at: new Date().toISOString() };
    const what = how.error ?? (how.signal ? `killed by ${how.signal}` : `exit code ${how.code}`);
    const waiters = worker.exitWaiters.splice(0);
    for (const wake of waiters) wake();
    if (worker.stopping || this.shuttingDown) {
      this.log(`${worker.spec.name} stopped (${what})`);
      this.writeStatus();
      return;
    }
    if (uptime >= STABLE_UPTIME_MS) worker.backoffMs = FIRST_BACKOFF_MS;
    const delay = worker.backoffMs;
    worker.backoffMs = Math.min(worker.backoffMs * 2, MAX_BACKOFF_MS);
    worker.nextStartAt = Date.now() + delay;
    const line = `${worker.spec.name} ended (${what}) after ${Math.round(uptime / 1000)} s; restarting in ${delay / 1000} s`;
    this.log(line);
    try {
      appendFileSync(this.path('logs', `${worker.spec.name}.log`), `[sweep supervisor] ${line}\n`);
    } catch {
      // as in log()
    }
    worker.timer = setTimeout(() => {
      worker.restarts += 1;
      this.startWorker(worker);
    }, delay);
    this.writeStatus();
  }

  /** SIGTERM to its group, STOP_GRACE_MS to hand back its trials, then SIGKILL. */
  private async stopWorker(worker: Worker): Promise<void> {
    worker.stopping = true;
    clearTimeout(worker.timer);
    worker.timer = undefined;
    worker.nextStartAt = undefined;
    const pid = worker.pid;
    if (pid === undefined || !worker.child) return;
    const gone = new Promise<void>((wake) => worker.exitWaiters.push(wake));
    signalGroup(pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((wake) => (timer = setTimeout(() => wake(true), STOP_GRACE_MS)));
    if (await Promise.race([gone.then(() => false), late])) {
      this.log(`${worker.spec.name} did not stop within ${STOP_GRACE_MS / 1000} s: killing it`);
      signalGroup(pid, 'SIGKILL');
      await gone;
    }
    clearTimeout(timer);
  }

  /** status.json's updatedAt stays fresh while nothing happens (and the timer keeps a worker-less supervisor up). */
  startHeartbeat(): void {
    this.heartbeat = setInterval(() => this.writeStatus(), HEARTBEAT_MS);
  }

  async shutdown(signal: string): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    clearInterval(this.heartbeat);
    this.log(`${signal}: stopping ${this.workers.size} worker(s)`);
    await Promise.all([...this.workers.values()].map((worker) => this.stopWorker(worker)));
    await this.reloading;
    await Promise.all([...this.workers.values()].map((worker) => this.stopWorker(worker)));
    for (const worker of this.workers.values()) rmSync(this.path('run', `${worker.spec.name}.pid`), { force: true });
    this.writeStatus();
    this.release();
    this.log('stopped');
  }

  writeStatus(): void {
    const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
    const workers = [...this.workers.values()].map((worker) => ({
      name: worker.spec.name,
      argv: worker.spec.argv,
      pid: worker.pid,
      running: worker.pid !== undefined,
      restarts: worker.restarts,
      startedAt: iso(worker.startedAt),
      lastExit: worker.lastExit,
      nextStartAt: iso(worker.nextStartAt),
    }));
    const status = { supervisorPid: process.pid, updatedAt: new Date().toISOString(), workers };
    try {
      writeAtomic(this.path('status.json'), `${JSON.stringify(status, null, 2)}\n`);
    } catch (error) {
      this.log(`could not write status.json: ${errorMessage(error)}`);
    }
  }
}

export async function runSupervisor(stateDirArgument: string | undefined): Promise<number> {
  if (!stateDirArgument) {
    process.stderr.write('usage: node host-supervisor.js <stateDir>\n');
    return 2;
  }
  const stateDir = resolve(expandHome(stateDirArgument));
  mkdirSync(join(stateDir, 'logs'), { recursive: true });
  mkdirSync(join(stateDir, 'run'), { recursive: true });
  const supervisor = new Supervisor(stateDir);
  // Handlers before the pid file: once it names this process the agent may send SIGHUP, whose default is to exit.
  const finished = new Promise<void>((done) => {
    const stop = (signal: NodeJS.Signals) => {
      void supervisor.shutdown(signal).then(done);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', () => {
      supervisor.log('SIGHUP: reloading');
      void supervisor.reload();
    });
  });
  try {
    supervisor.claim();
  } catch (error) {
    supervisor.log(`not starting: ${errorMessage(error)}`);
    process.stderr.write(`${errorMessage(error)}\n`);
    return 1;
  }
  supervisor.log(`supervisor ${process.pid} started for ${stateDir}`);
  supervisor.startHeartbeat();
  await supervisor.stopLeftovers();
  await supervisor.reload();
  await finished;
  return 0;
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

// Only as `node host-supervisor.js <stateDir>`: a test or the CLI importing it for its helpers must not supervise.
if (invokedDirectly()) {
  process.exitCode = await runSupervisor(process.argv[2]);
}
