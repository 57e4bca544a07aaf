import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/helpers/free-port.js';
import { processesWithEnv } from './proc.js';
import { run, until } from './processes.js';

const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
const PEERS_DIR = join(BENCH_DIR, 'peers');
const TRIAL = join(BENCH_DIR, 'trial.sh');
export const VENV = join(BENCH_DIR, '.peers');

/** What one tool did with the overhead workload. */
export interface ToolRun {
  readonly wallSeconds: number;
  readonly failed: number;
}

export function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** `xargs -P<slots>`: the floor, fork/exec and wait. */
export async function runXargs(trials: number, seconds: number, slots: number, records: string): Promise<ToolRun> {
  const script = `seq 0 ${trials - 1} | xargs -P ${slots} -I{} bash ${TRIAL} {} ${seconds} ${records}`;
  const finished = await run('sh', ['-c', script]);
  return { wallSeconds: finished.wallSeconds, failed: finished.code === 0 ? 0 : trials };
}

/** GNU parallel with one job per slot. */
export async function runGnuParallel(
  trials: number,
  seconds: number,
  slots: number,
  records: string,
): Promise<ToolRun> {
  const script = `seq 0 ${trials - 1} | parallel --will-cite -j ${slots} bash ${TRIAL} {} ${seconds} ${records}`;
  const finished = await run('sh', ['-c', script]);
  return { wallSeconds: finished.wallSeconds, failed: finished.code ?? trials };
}

/**
 * The Python peers' environment (bench/.peers), created from bench/peers/requirements.txt and reused while the
 * pins are unchanged. Returns the venv's python, or why it could not be made.
 */
export function pythonPeers(): { python: string } | { missing: string } {
  const requirements = join(PEERS_DIR, 'requirements.txt');
  const stamp = join(VENV, '.requirements-hash');
  const hash = createHash('sha256').update(readFileSync(requirements)).digest('hex');
  const python = join(VENV, 'bin', 'python');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return { python };
  process.stderr.write('bench: installing the pinned peers (celery, ray[tune]) into bench/.peers …\n');
  const steps: Array<[string, string[]]> = [
    ['python3', ['-m', 'venv', VENV]],
    [python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', requirements]],
  ];
  for (const [command, args] of steps) {
    const result = spawnSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (result.status !== 0) return { missing: `${command} ${args.join(' ')} failed (exit ${result.status})` };
  }
  writeFileSync(stamp, hash);
  return { python };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A private RabbitMQ node (Debian's rabbitmq-server) on free ports, its state in `dir`. */
export class RabbitMq {
  private constructor(
    readonly url: string,
    private readonly base: string,
    private readonly nodeName: string,
  ) {}

  static async start(): Promise<RabbitMq> {
    const port = await freePort();
    // rabbitmq-server drops to the rabbitmq user when started as root: its directory must be reachable and
    // writable by that user, so not inside the bench's private (0700) work directory.
    const base = mkdtempSync(join(tmpdir(), 'sweep-bench-rabbitmq-'));
    for (const sub of ['mnesia', 'log']) mkdirSync(join(base, sub), { recursive: true });
    for (const path of [base, join(base, 'mnesia'), join(base, 'log')]) chmodSync(path, 0o777);
    const nodeName = `sweepbench${port}@localhost`;
    const env = {
      ...process.env,
      RABBITMQ_NODENAME: nodeName,
      RABBITMQ_NODE_PORT: String(port),
      RABBITMQ_DIST_PORT: String(await freePort()),
      RABBITMQ_MNESIA_BASE: join(base, 'mnesia'),
      RABBITMQ_LOG_BASE: join(base, 'log'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(base, 'enabled_plugins'),
      RABBITMQ_CONFIG_FILE: join(base, 'rabbitmq'),
      RABBITMQ_FEATURE_FLAGS_FILE: join(base, 'feature_flags'),
    };
    const child = spawn('rabbitmq-server', [], { env, stdio: 'ignore', detached: true });
    const broker = new RabbitMq(`amqp://guest:guest@127.0.0.1:${port}//`, base, nodeName);
    let up = false;
    const deadline = Date.now() + 60_000;
    while (!up && Date.now() < deadline && child.exitCode === null) {
      up = await portOpen(port);
      if (!up) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    if (!up) {
      broker.stop();
      throw new Error(`rabbitmq-server did not accept connections on port ${port} (logs in ${base}/log)`);
    }
    return broker;
  }

  /** The node's processes: `su` puts the Erlang VM in a session of its own, so they are found by environment. */
  pids(): number[] {
    return processesWithEnv('RABBITMQ_NODENAME', this.nodeName);
  }

  stop(): void {
    for (const pid of this.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    rmSync(this.base, { recursive: true, force: true });
  }
}

/** One Celery prefork worker with a process per slot, acks_late and prefetch 1 (celery_peer.py's settings). */
export async function startCeleryWorker(python: string, broker: string, slots: number): Promise<ChildProcess> {
  const args = ['-m', 'celery', '-A', 'celery_peer', 'worker', '-c', String(slots), '--prefetch-multiplier', '1'];
  args.push('-O', 'fair', '-l', 'INFO', '--without-gossip', '--without-mingle', '--without-heartbeat');
  const worker = spawn(python, args, {
    cwd: PEERS_DIR,
    env: { ...process.env, BENCH_BROKER: broker },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  worker.stderr?.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  const ready = await until(() => /ready\./.test(log) || worker.exitCode !== null, 60_000);
  if (!ready || worker.exitCode !== null) throw new Error(`the celery worker did not start:\n${log.slice(-2000)}`);
  return worker;
}

export async function runCelery(
  python: string,
  broker: string,
  trials: number,
  seconds: number,
  records: string,
): Promise<ToolRun> {
  const finished = await run(
    python,
    [join(PEERS_DIR, 'celery_peer.py'), 'run', String(trials), String(seconds), records],
    {
      env: { ...process.env, BENCH_BROKER: broker },
    },
  );
  if (finished.code !== 0) throw new Error(`celery driver failed:\n${finished.stderr.slice(-2000)}`);
  return lastJsonLine(finished.stdout);
}

/** The peer scripts print their figures as the last JSON line; Ray also prints its own warnings to stdout. */
function lastJsonLine(stdout: string): ToolRun {
  const line = stdout
    .split('\n')
    .filter((text) => text.startsWith('{'))
    .at(-1);
  if (!line) throw new Error(`no result line in the output:\n${stdout.slice(-1000)}`);
  return JSON.parse(line) as ToolRun;
}

export async function runRayTune(
  python: string,
  trials: number,
  seconds: number,
  slots: number,
  records: string,
  storage: string,
): Promise<ToolRun> {
  const args = [join(PEERS_DIR, 'ray_peer.py'), String(trials), String(seconds), String(slots), records, storage];
  const finished = await run(python, args, { env: { ...process.env, RAY_AIR_NEW_OUTPUT: '0' } });
  if (finished.code !== 0) throw new Error(`ray tune failed:\n${finished.stderr.slice(-2000)}`);
  return lastJsonLine(finished.stdout);
}
