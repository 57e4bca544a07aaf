// `sweep hosts up` on one host, step by step, each idempotent: the worker bundle (sent only when the host lacks
// this exact one), the project files (only those that differ), the Temporal settings (a 0600 file, never a
// command line), then the supervisor told which workers to run (it restarts only the ones that changed).
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import type { ConnectionConfig } from '../temporal/connection-config.js';
import { formatBytes } from './byte-size.js';
import { parseNvidiaSmi, type GpuInfo } from '../workers/gpu-probe.js';
import { chooseGpus, hostWorkers, type HostWorker } from './host-workers.js';
import type { InventoryHost } from './inventory.js';
import { selectProjectFiles } from './project-files.js';
import { packFiles } from './remote/host-agent.js';
import { hashesSchema, probeSchema, runAgent, startSchema, unpackSchema, type HostProbe } from './remote-agent.js';
import { eachHost, type HostResult } from './each-host.js';
import { HostStepError, type SshOptions, type SshSession } from './ssh-session.js';
import { sweepRoot, workerBundle, type WorkerBundle } from './worker-bundle.js';

/** Everything Sweep keeps on a host, outside the user's project: removed by `down`. */
export const STATE_DIR = '.sweep';
const COMPLETE_MARKER = '.complete';

export interface RemotePaths {
  readonly home: string;
  readonly stateDir: string;
  readonly projectDir: string;
  readonly trialsDir: string;
}

export function remotePaths(host: InventoryHost, home: string): RemotePaths {
  const projectDir = host.remoteDir === '~' ? home : posix.resolve(home, host.remoteDir.replace(/^~\//, ''));
  return {
    home,
    stateDir: posix.join(home, STATE_DIR),
    projectDir,
    // Trial directories are the user's results: beside the project, kept by `down` unless --purge.
    trialsDir: posix.join(projectDir, '.sweep', 'trials'),
  };
}

/** The host's GPUs as nvidia-smi lists them; none where it is absent (a CPU host); an error where it fails. */
export function probedGpus(host: InventoryHost, probe: HostProbe): GpuInfo[] {
  const smi = probe.nvidiaSmi;
  if (!smi.found) return [];
  if (smi.code !== 0 || smi.timedOut) {
    const why = smi.timedOut
      ? 'did not answer within 10 s'
      : `failed (exit ${smi.code}): ${smi.stderr.trim().split('\n')[0]}`;
    throw new HostStepError(host.name, 'gpus', `nvidia-smi ${why}; fix the driver, or set gpus: [] for CPU work only`);
  }
  return parseNvidiaSmi(smi.stdout);
}

/** The Temporal address as the host must reach it; this machine's loopback is refused with what to set. */
export function hostTemporalAddress(host: InventoryHost, connection: ConnectionConfig): string {
  const address = host.temporalAddress ?? connection.address;
  const hostPart = address.slice(0, address.lastIndexOf(':'));
  if (!host.temporalAddress && /^(127\.|localhost$|::1$|\[::1\]$)/.test(hostPart)) {
    throw new HostStepError(
      host.name,
      'temporal',
      `the Temporal address ${address} is this machine's loopback, which the host cannot reach: set ` +
        'temporal_address in hosts.yml to an address it can (and start the dev server with sweep server --ip 0.0.0.0)',
    );
  }
  return address;
}

export async function probeHost(session: SshSession, host: InventoryHost, temporalAddress: string): Promise<HostProbe> {
  return runAgent(session, host.node, 'probe', { temporalAddress, dir: host.remoteDir }, probeSchema);
}

/** Sends an archive of `paths` under `root` and unpacks it into `dir` on the host. */
async function sendFiles(
  session: SshSession,
  host: InventoryHost,
  root: string,
  paths: readonly string[],
  into: { dir: string; remove: readonly string[]; record: readonly string[] | null },
  step: string,
): Promise<void> {
  const upload = `.sweep-upload-${randomBytes(6).toString('hex')}.swa`;
  await session.upload(packFiles(root, paths), upload, 0o600, step);
  await runAgent(
    session,
    host.node,
    'unpack',
    { archive: `~/${upload}`, dir: into.dir, remove: into.remove, record: into.record, noOverwrite: false },
    unpackSchema,
  );
}

export interface BundleOutcome {
  readonly id: string;
  readonly sent: boolean;
  readonly bytes: number;
}

/** The bundle for this host's platform on the host: sent only when that exact bundle is not complete there. */
export async function ensureBundle(
  session: SshSession,
  host: InventoryHost,
  probe: HostProbe,
  paths: RemotePaths,
  bundles: (target: { platform: string; arch: string }) => WorkerBundle,
): Promise<{ outcome: BundleOutcome; dir: string }> {
  let bundle: WorkerBundle;
  try {
    bundle = bundles({ platform: probe.platform, arch: probe.arch });
  } catch (error) {
    throw new HostStepError(host.name, 'bundle', error instanceof Error ? error.message : String(error));
  }
  const dir = posix.join(paths.stateDir, 'bundles', bundle.id);
  const present = await runAgent(session, host.node, 'hashes', { dir, paths: [COMPLETE_MARKER] }, hashesSchema);
  if (present.hashes[COMPLETE_MARKER]) return { outcome: { id: bundle.id, sent: false, bytes: 0 }, dir };
  await sendFiles(
    session,
    host,
    bundle.root,
    bundle.files.map((file) => file.path),
    { dir, remove: [], record: null },
    'bundle',
  );
  // Written last: a transfer cut short leaves no marker, and the next `up` sends the bundle again.
  await session.upload(Buffer.from(`${bundle.id}\n`), posix.join(dir, COMPLETE_MARKER), 0o644, 'bundle');
  return { outcome: { id: bundle.id, sent: true, bytes: bundle.bytes }, dir };
}

export interface SyncOutcome {
  readonly files: number;
  readonly sent: readonly string[];
  readonly bytesSent: number;
  readonly removed: readonly string[];
}

/** The project's files on the host: those whose content differs are sent, those deleted locally removed there. */
export async function syncProject(session: SshSession, host: InventoryHost, dir: string): Promise<SyncOutcome> {
  const files = selectProjectFiles(host.projectDir, { include: host.include, exclude: host.exclude });
  const listed = files.map((file) => file.path);
  const remote = await runAgent(session, host.node, 'hashes', { dir, paths: listed }, hashesSchema);
  const changed = files.filter((file) => remote.hashes[file.path] !== file.sha256);
  const kept = new Set(listed);
  // Only what an earlier sync wrote is ever removed: the host's own files (results, caches) are never touched.
  const removed = remote.synced.filter((path) => !kept.has(path));
  const recordChanged = remote.synced.length !== listed.length || removed.length > 0;
  if (changed.length > 0 || recordChanged) {
    await sendFiles(
      session,
      host,
      host.projectDir,
      changed.map((file) => file.path),
      { dir, remove: removed, record: listed },
      'sync',
    );
  }
  return {
    files: files.length,
    sent: changed.map((file) => file.path),
    bytesSent: changed.reduce((total, file) => total + file.size, 0),
    removed,
  };
}

interface RemoteFile {
  readonly path: string;
  readonly content: Buffer;
}

/** connection.json and the TLS files it names, with the paths they will have on the host. */
function connectionFiles(connection: ConnectionConfig, address: string, paths: RemotePaths): RemoteFile[] {
  const tls: RemoteFile[] = [];
  const place = (name: string, local: string | undefined) => {
    if (!local) return undefined;
    tls.push({ path: `tls/${name}`, content: readFileSync(local) });
    return posix.join(paths.stateDir, 'tls', name);
  };
  const settings = {
    address,
    namespace: connection.namespace,
    tls: connection.tls,
    ...(connection.apiKey ? { apiKey: connection.apiKey } : {}),
    ...(connection.tlsServerName ? { tlsServerName: connection.tlsServerName } : {}),
    ...(connection.tlsCaPath ? { tlsCaPath: place('ca.pem', connection.tlsCaPath) } : {}),
    ...(connection.tlsCertPath ? { tlsCertPath: place('client.pem', connection.tlsCertPath) } : {}),
    ...(connection.tlsKeyPath ? { tlsKeyPath: place('client.key', connection.tlsKeyPath) } : {}),
  };
  return [...tls, { path: 'connection.json', content: Buffer.from(`${JSON.stringify(settings, null, 2)}\n`) }];
}

function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/**
 * The Temporal settings on the host as 0600 files (an API key or a client key is a secret: never on a command
 * line, in a process list or a log). Returns their fingerprint: the supervisor restarts workers when it changes.
 */
export async function writeConnection(
  session: SshSession,
  host: InventoryHost,
  connection: ConnectionConfig,
  address: string,
  paths: RemotePaths,
): Promise<{ changed: boolean; revision: string }> {
  const files = connectionFiles(connection, address, paths);
  const remote = await runAgent(
    session,
    host.node,
    'hashes',
    { dir: paths.stateDir, paths: files.map((file) => file.path) },
    hashesSchema,
  );
  const stale = files.filter((file) => remote.hashes[file.path] !== sha256(file.content));
  if (stale.some((file) => file.path.startsWith('tls/')))
    await session.mkdir(posix.join(paths.stateDir, 'tls'), 'connection');
  for (const file of stale)
    await session.upload(file.content, posix.join(paths.stateDir, file.path), 0o600, 'connection');
  const revision = sha256(Buffer.concat(files.map((file) => file.content))).slice(0, 16);
  return { changed: stale.length > 0, revision };
}

export interface UpOutcome {
  readonly host: string;
  readonly mode: 'systemd' | 'supervisor';
  readonly workers: readonly HostWorker[];
  readonly bundle: BundleOutcome;
  readonly sync: SyncOutcome;
  readonly connectionChanged: boolean;
  /** The supervisor was told of a change (workers added, removed or restarted). */
  readonly workersChanged: boolean;
}

/** Every step of `up` on one connected host. */
export async function bringUp(
  session: SshSession,
  host: InventoryHost,
  connection: ConnectionConfig,
  bundles: (target: { platform: string; arch: string }) => WorkerBundle,
): Promise<UpOutcome> {
  const address = hostTemporalAddress(host, connection);
  const probe = await probeHost(session, host, address);
  if (!probe.temporal.reachable) {
    throw new HostStepError(
      host.name,
      'temporal',
      `cannot reach the Temporal server at ${address} from the host (${probe.temporal.error ?? 'no answer'}); ` +
        'set temporal_address in hosts.yml to an address the host can reach',
    );
  }
  const paths = remotePaths(host, probe.home);
  const choice = chooseGpus(host, probedGpus(host, probe));
  if ('problem' in choice) throw new HostStepError(host.name, 'gpus', choice.problem);
  const bundle = await ensureBundle(session, host, probe, paths, bundles);
  const sync = await syncProject(session, host, paths.projectDir);
  const written = await writeConnection(session, host, connection, address, paths);
  const workers = hostWorkers(host, choice.gpus, probe.cpus, {
    node: host.node,
    sweepBin: posix.join(bundle.dir, 'bin', 'sweep.js'),
    dataDir: posix.join(paths.stateDir, 'data'),
    trialsDir: paths.trialsDir,
    projectDir: paths.projectDir,
  });
  const started = await runAgent(
    session,
    host.node,
    'start',
    {
      stateDir: paths.stateDir,
      supervisor: posix.join(bundle.dir, 'dist', 'hosts', 'remote', 'host-supervisor.js'),
      revision: written.revision,
      workers: workers.map(({ name, argv, cwd }) => ({ name, argv, cwd })),
    },
    startSchema,
  );
  return {
    host: host.name,
    mode: started.mode,
    workers,
    bundle: bundle.outcome,
    sync,
    connectionChanged: written.changed,
    workersChanged: started.changed,
  };
}

/** One bundle per platform for the whole run: built (hashed) once however many hosts share it. */
export function bundleCache(root: string): (target: { platform: string; arch: string }) => WorkerBundle {
  const built = new Map<string, WorkerBundle>();
  return (target) => {
    const key = `${target.platform}-${target.arch}`;
    const bundle = built.get(key) ?? workerBundle(root, target);
    built.set(key, bundle);
    return bundle;
  };
}

/** `hosta: hosta-gpu0, hosta-gpu1 started/updated (supervisor); 1 project file sent (train.py)`. */
export function describeUp(outcome: UpOutcome): string {
  const sent = [
    outcome.bundle.sent ? `worker bundle ${outcome.bundle.id} sent (${formatBytes(outcome.bundle.bytes)})` : '',
    outcome.sync.sent.length
      ? `${outcome.sync.sent.length} project file${outcome.sync.sent.length === 1 ? '' : 's'} sent (${outcome.sync.sent.slice(0, 3).join(', ')}${outcome.sync.sent.length > 3 ? ', …' : ''})`
      : '',
    outcome.sync.removed.length ? `${outcome.sync.removed.length} removed` : '',
    outcome.connectionChanged ? 'Temporal settings written' : '',
  ].filter(Boolean);
  const workers = outcome.workers.map((worker) => worker.name).join(', ') || 'no workers';
  const state = outcome.workersChanged ? 'started/updated' : 'running, unchanged';
  return `${outcome.host}: ${workers} ${state} (${outcome.mode}); ${sent.length ? sent.join('; ') : 'nothing sent'}`;
}

/** `up` on every host at once, one bundle per platform for the whole run. */
export function bringUpAll(
  hosts: readonly InventoryHost[],
  options: SshOptions,
  connection: ConnectionConfig,
): Promise<HostResult<UpOutcome>[]> {
  const bundles = bundleCache(sweepRoot());
  return eachHost(hosts, options, (session, host) => bringUp(session, host, connection, bundles));
}
