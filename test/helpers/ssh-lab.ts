// Real ssh "hosts" for tests: each is a network namespace on a bridge of its own lab, with its own user and its
// own sshd, so a test can reach it with a real ssh client, cut its network (ssh and Temporal traffic alike) and
// look at what really runs there. Needs root.
import { spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  appendFileSync,
  chmodSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export interface LabHostOptions {
  /** Lower-case letters, digits and '-', starting with a letter; unique within the lab. */
  readonly name: string;
  /** Extra environment for every ssh session on this host (sshd SetEnv). PATH goes through `pathPrepend`. */
  readonly env?: Readonly<Record<string, string>>;
  /** Directories put first on the PATH of ssh sessions, e.g. one holding a fake nvidia-smi. */
  readonly pathPrepend?: readonly string[];
  /** The PATH of ssh sessions finds every system command except `node`. */
  readonly withoutNode?: boolean;
}

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface LabHost {
  readonly name: string;
  /** sshd listens on address:port inside the host's network namespace. */
  readonly address: string;
  readonly port: number;
  readonly user: string;
  readonly home: string;
  readonly netns: string;
  /** Takes the host's link down, so that every connection to or from it (ssh, Temporal) stalls. */
  cutOff(): Promise<void>;
  /** Brings the link back up; resolves once the host's sshd answers again. */
  restore(): Promise<void>;
  /** Runs argv as the host's user inside its namespace, with the environment of its ssh sessions. */
  run(argv: readonly string[]): Promise<CommandResult>;
  /** Every process of the host's user, less sshd's own session processes. */
  processes(): Promise<{ pid: number; args: string }[]>;
  /** Authorises one more public key (an `ssh-ed25519 AAAA... comment` line) on this host alone. */
  authorize(publicKey: string): void;
}

export interface SshLab {
  /** The root namespace's address on the lab's bridge; every host reaches it (bind a Temporal server here). */
  readonly serverAddress: string;
  readonly bridge: string;
  readonly hosts: readonly LabHost[];
  /** An unencrypted ed25519 private key (0600) authorised on every host. */
  readonly clientKey: string;
  /** Another key, authorised nowhere. */
  readonly wrongKey: string;
  /** A known_hosts file with every host's key. */
  readonly knownHosts: string;
  readonly dir: string;
  /** Removes everything the lab made; idempotent. */
  dispose(): Promise<void>;
}

/** The Debian packages a lab needs beyond an essential system; openssh-server brings ssh-keygen and procps. */
export const LAB_SYSTEM_PACKAGES = ['openssh-server', 'iproute2'] as const;

/** Thrown when the machine cannot host a lab: not root, or a command the lab runs is missing. */
export class SshLabUnavailableError extends Error {
  override readonly name = 'SshLabUnavailableError';
}

/** Thrown when a command the lab runs fails; says which command, how it ended and the tail of its stderr. */
export class LabCommandError extends Error {
  override readonly name = 'LabCommandError';
  constructor(
    readonly argv: readonly string[],
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stderr: string,
  ) {
    const tail = stderr.trim().split('\n').slice(-5).join('\n');
    super(`\`${argv.join(' ')}\` ${describeExit(code, signal)}${tail ? `:\n${tail}` : ''}`);
  }
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `was killed by ${signal}`;
  if (code === null) return 'could not be started';
  if (code > 128) return `exited with ${code} (killed by signal ${code - 128})`;
  return `exited with ${code}`;
}

const SSHD = '/usr/sbin/sshd';
const SSH_PORT = 22;
const LOCK_ROOT = '/run/sweep-ssh-lab';
const MAX_LABS = 250;
const FIRST_HOST_OCTET = 10;
const MAX_HOSTS = 254 - FIRST_HOST_OCTET;
const READY_TIMEOUT_MS = 10_000;
const KILL_TIMEOUT_MS = 5_000;

// What sshd itself gives a session, plus the directory of the node running the tests, so a host "has node" on
// machines where it lives elsewhere.
const SYSTEM_PATH = ['/usr/local/bin', '/usr/bin', '/bin'];
const SESSION_PATH = SYSTEM_PATH.includes(dirname(process.execPath))
  ? SYSTEM_PATH
  : [...SYSTEM_PATH, dirname(process.execPath)];

// Our own commands (ip, useradd, ...) live in sbin, which a non-login root shell may not have on PATH.
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];
const TOOL_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  PATH: [process.env.PATH ?? '', ...SBIN, ...SYSTEM_PATH].filter(Boolean).join(':'),
};

function findCommand(name: string): string | undefined {
  for (const dir of (TOOL_ENV.PATH ?? '').split(':')) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      continue;
    }
  }
  return undefined;
}

/** The commands the lab runs that this machine lacks. */
// Every command the lab runs, with the Debian package that provides it.
const LAB_COMMANDS: Readonly<Record<string, string>> = {
  [SSHD]: 'openssh-server',
  'ssh-keygen': 'openssh-client',
  ip: 'iproute2',
  ps: 'procps',
  useradd: 'passwd',
  userdel: 'passwd',
  groupdel: 'passwd',
  setpriv: 'util-linux',
  getent: 'libc-bin',
};

/** The commands the lab runs that this machine lacks, with the package for each. */
export function missingLabCommands(): { command: string; package: string }[] {
  return Object.entries(LAB_COMMANDS)
    .filter(([command]) => (command.startsWith('/') ? !existsSync(command) : !findCommand(command)))
    .map(([command, pkg]) => ({ command, package: pkg }));
}

function checkPrerequisites(): void {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('it must run as root (it creates network namespaces, users and sshds)');
  const missing = missingLabCommands();
  if (missing.length > 0) {
    const packages = new Set([...LAB_SYSTEM_PACKAGES, ...missing.map((entry) => entry.package)]);
    const commands = missing.map((entry) => `${entry.command} (${entry.package})`).join(', ');
    problems.push(`missing ${commands}: apt-get install ${[...packages].join(' ')}`);
  }
  if (problems.length > 0) throw new SshLabUnavailableError(`ssh lab unavailable: ${problems.join('; ')}`);
}

function capture(
  argv: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CommandResult & { signal: NodeJS.Signals | null }> {
  const [command, ...args] = argv;
  if (command === undefined) throw new Error('empty command');
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      env: options.env ?? TOOL_ENV,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', (error) => resolve({ code: null, signal: null, stdout, stderr: stderr + error.message }));
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

async function exec(argv: readonly string[]): Promise<string> {
  const result = await capture(argv);
  if (result.code !== 0) throw new LabCommandError(argv, result.code, result.signal, result.stderr);
  return result.stdout;
}

// Teardown is synchronous so that the same code runs from dispose() and from process 'exit', where nothing
// asynchronous gets to run.
function execSync(argv: readonly string[]): string {
  const [command, ...args] = argv;
  if (command === undefined) throw new Error('empty command');
  const result = spawnSync(command, args, { env: TOOL_ENV, encoding: 'utf8' });
  if (result.status !== 0) {
    const stderr = (result.stderr ?? '') + (result.error ? result.error.message : '');
    throw new LabCommandError(argv, result.status, result.signal, stderr);
  }
  return result.stdout;
}

function succeedsSync(argv: readonly string[]): boolean {
  const [command, ...args] = argv;
  return command !== undefined && spawnSync(command, args, { env: TOOL_ENV, stdio: 'ignore' }).status === 0;
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/** What a lab made, kept in its lock directory so that teardown, even by a later run after a crash, can find it. */
interface LabRecord {
  readonly pid: number;
  readonly dir: string;
  readonly bridge: string;
  readonly hosts: readonly { readonly netns: string; readonly veth: string; readonly user: string }[];
}

function writeRecord(lockDir: string, record: LabRecord): void {
  const temp = join(lockDir, `lab.json.${process.pid}`);
  writeFileSync(temp, JSON.stringify(record));
  renameSync(temp, join(lockDir, 'lab.json'));
}

function readRecord(lockDir: string): LabRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(lockDir, 'lab.json'), 'utf8')) as LabRecord;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function killUntilGone(what: string, list: () => number[]): void {
  const deadline = Date.now() + KILL_TIMEOUT_MS;
  for (;;) {
    const pids = list();
    if (pids.length === 0) return;
    if (Date.now() > deadline) throw new Error(`${what} still running after SIGKILL: ${pids.join(' ')}`);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    sleepSync(10);
  }
}

// `ip netns pids` lists no zombies (they have left every namespace), so this ends once all are dead.
function netnsPids(netns: string): number[] {
  const result = spawnSync('ip', ['netns', 'pids', netns], { env: TOOL_ENV, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.split('\n').filter(Boolean).map(Number) : [];
}

// Zombies are skipped: they cannot be killed, and waiting would hang when their parent is this very process.
function userPids(user: string): number[] {
  const result = spawnSync('ps', ['-u', user, '-o', 'pid=,stat='], { env: TOOL_ENV, encoding: 'utf8' });
  if (result.status !== 0) return [];
  return result.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([pid, stat]) => pid && stat && !stat.startsWith('Z'))
    .map(([pid]) => Number(pid));
}

/** Removes whatever of `record` exists; returns one line per thing it could not remove. */
function tearDown(record: LabRecord): string[] {
  const problems: string[] = [];
  const attempt = (what: string, action: () => void) => {
    try {
      action();
    } catch (error) {
      problems.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  for (const host of record.hosts) {
    // sshd and all its sessions, including root's privileged halves, which the user's pkill would miss.
    attempt(`kill processes in ${host.netns}`, () => killUntilGone(host.netns, () => netnsPids(host.netns)));
    attempt(`kill processes of ${host.user}`, () => killUntilGone(host.user, () => userPids(host.user)));
    attempt(`remove user ${host.user}`, () => {
      // -f: a zombie of the user's, still waiting for its parent, would otherwise block the removal.
      if (succeedsSync(['getent', 'passwd', host.user])) execSync(['userdel', '-f', host.user]);
      if (succeedsSync(['getent', 'group', host.user])) execSync(['groupdel', host.user]);
    });
    attempt(`remove ${host.veth}`, () => {
      if (succeedsSync(['ip', 'link', 'show', 'dev', host.veth])) execSync(['ip', 'link', 'del', host.veth]);
    });
    attempt(`remove ${host.netns}`, () => {
      if (existsSync(join('/run/netns', host.netns))) execSync(['ip', 'netns', 'del', host.netns]);
    });
  }
  // A lab that died while claiming its number recorded no bridge or dir yet.
  if (record.bridge) {
    attempt(`remove ${record.bridge}`, () => {
      if (succeedsSync(['ip', 'link', 'show', 'dev', record.bridge])) execSync(['ip', 'link', 'del', record.bridge]);
    });
  }
  if (record.dir) attempt(`remove ${record.dir}`, () => rmSync(record.dir, { recursive: true, force: true }));
  return problems;
}

// Labs of this process, torn down on exit or on a terminating signal, so that a failed or aborted test leaves
// no namespaces, users or sshds behind. A SIGKILLed process leaves its lock, which the next lab reclaims.
const liveLabs = new Map<string, LabRecord>();
const TERMINATING_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function releaseLab(lockDir: string): string[] {
  const record = liveLabs.get(lockDir) ?? readRecord(lockDir);
  liveLabs.delete(lockDir);
  if (liveLabs.size === 0) {
    process.off('exit', tearDownLiveLabs);
    for (const signal of TERMINATING_SIGNALS) process.off(signal, onTerminatingSignal);
  }
  const problems = record ? tearDown(record) : [];
  rmSync(lockDir, { recursive: true, force: true });
  return problems;
}

function tearDownLiveLabs(): void {
  for (const lockDir of [...liveLabs.keys()]) {
    for (const problem of releaseLab(lockDir)) process.stderr.write(`ssh lab teardown: ${problem}\n`);
  }
}

function onTerminatingSignal(signal: NodeJS.Signals): void {
  tearDownLiveLabs();
  // Our listener is gone now, so this signal gets its default action (unless someone else listens for it).
  process.kill(process.pid, signal);
}

function holdLab(lockDir: string, record: LabRecord): void {
  if (liveLabs.size === 0) {
    process.on('exit', tearDownLiveLabs);
    for (const signal of TERMINATING_SIGNALS) process.on(signal, onTerminatingSignal);
  }
  liveLabs.set(lockDir, record);
  writeRecord(lockDir, record);
}

/**
 * Takes over every lock whose owner died without cleaning up (SIGKILL, a crash, a reboot: /run may be on disk)
 * and removes what those labs left.
 */
function reclaimStaleLocks(): void {
  for (const entry of readdirSync(LOCK_ROOT)) {
    if (!/^\d+$/.test(entry)) continue;
    const lockDir = join(LOCK_ROOT, entry);
    const record = readRecord(lockDir);
    if (!record || isAlive(record.pid)) continue;
    const grave = `${lockDir}.stale-${process.pid}`;
    try {
      renameSync(lockDir, grave); // Atomic: of two processes reclaiming, only one gets past here.
    } catch {
      continue;
    }
    const problems = tearDown(record);
    // Left for a person to look at: a lab that later takes this number fails loudly on whatever is still there.
    if (problems.length > 0) {
      process.stderr.write(`ssh lab: could not clean up a dead lab (${grave}):\n${problems.join('\n')}\n`);
      continue;
    }
    rmSync(grave, { recursive: true, force: true });
  }
}

function tryLock(lockDir: string): boolean {
  try {
    mkdirSync(lockDir);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/**
 * A lab number K that no other lab on this machine holds: 10.231.K.0/24, bridge swbrK and every name with swK in
 * it are then ours. The lock is a directory, because mkdir is atomic across processes.
 */
function claimLabNumber(): { k: number; lockDir: string } {
  mkdirSync(LOCK_ROOT, { recursive: true });
  reclaimStaleLocks();
  const start = Math.floor(Math.random() * MAX_LABS);
  for (let offset = 0; offset < MAX_LABS; offset++) {
    const k = 1 + ((start + offset) % MAX_LABS);
    const lockDir = join(LOCK_ROOT, String(k));
    if (!tryLock(lockDir)) continue;
    writeRecord(lockDir, { pid: process.pid, dir: '', bridge: '', hosts: [] });
    const taken =
      succeedsSync(['ip', 'link', 'show', 'dev', `swbr${k}`]) ||
      execSync(['ip', '-o', 'addr', 'show', 'to', `10.231.${k}.0/24`]).trim() !== '';
    if (!taken) return { k, lockDir };
    rmSync(lockDir, { recursive: true, force: true });
  }
  throw new Error(`no free ssh lab number in 1..${MAX_LABS} (locks in ${LOCK_ROOT})`);
}

const NAME = /^[a-z][a-z0-9-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function validate(hosts: readonly LabHostOptions[]): void {
  const problems: string[] = [];
  if (hosts.length === 0) problems.push('hosts: at least one is needed');
  if (hosts.length > MAX_HOSTS) problems.push(`hosts: at most ${MAX_HOSTS}`);
  const seen = new Set<string>();
  hosts.forEach((host, i) => {
    // The user name is swK<name>, K up to 3 digits, and Linux user names end at 32 characters.
    if (!NAME.test(host.name) || host.name.length > 27) {
      problems.push(`hosts[${i}].name: "${host.name}" must be 1-27 of a-z, 0-9 and '-', starting with a letter`);
    }
    if (seen.has(host.name)) problems.push(`hosts[${i}].name: "${host.name}" is used twice`);
    seen.add(host.name);
    for (const [key, value] of Object.entries(host.env ?? {})) {
      if (!ENV_NAME.test(key)) problems.push(`hosts[${i}].env.${key}: not a valid variable name`);
      if (key === 'PATH') problems.push(`hosts[${i}].env.PATH: use pathPrepend (or withoutNode)`);
      // sshd_config has no way to quote these inside a quoted SetEnv argument.
      if (/["\\\n]/.test(value)) problems.push(`hosts[${i}].env.${key}: must not contain '"', '\\' or a newline`);
    }
    for (const dir of host.pathPrepend ?? []) {
      if (dir.includes(':') || /["\\\n]/.test(dir)) problems.push(`hosts[${i}].pathPrepend: bad directory "${dir}"`);
    }
  });
  if (problems.length > 0) throw new Error(`startSshLab: invalid hosts\n${problems.join('\n')}`);
}

/** A directory with a symlink to every system command except node, for hosts that must not have it. */
function makeNodelessBin(dir: string): string {
  mkdirSync(dir, { mode: 0o755 });
  const linked = new Set(['node', 'nodejs']);
  for (const source of SYSTEM_PATH) {
    if (!existsSync(source)) continue;
    for (const name of readdirSync(source)) {
      if (linked.has(name)) continue;
      linked.add(name);
      symlinkSync(join(source, name), join(dir, name));
    }
  }
  return dir;
}

async function keygen(path: string, comment: string): Promise<string> {
  await exec(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
  return readFileSync(`${path}.pub`, 'utf8').trim();
}

async function waitForSshd(address: string, exited: () => string | undefined): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: address, port: SSH_PORT });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (accepted) return;
    const why = exited();
    if (why !== undefined) throw new Error(`sshd for ${address} exited before listening:\n${why}`);
    if (Date.now() > deadline)
      throw new Error(`sshd on ${address}:${SSH_PORT} not accepting after ${READY_TIMEOUT_MS} ms`);
    await delay(20);
  }
}

interface HostPlan extends LabHostOptions {
  readonly address: string;
  readonly netns: string;
  readonly veth: string;
  readonly user: string;
  readonly home: string;
  readonly hostDir: string;
  /** This host's own authorized keys, beside the lab's: readable by its user, as sshd reads them as the user. */
  readonly authorizedKeys: string;
}

function sshdConfig(plan: HostPlan, authorizedKeys: string, path: string, penalties: boolean): string {
  const env = [`PATH=${path}`, ...Object.entries(plan.env ?? {}).map(([key, value]) => `${key}=${value}`)];
  return [
    `ListenAddress ${plan.address}:${SSH_PORT}`,
    `HostKey ${join(plan.hostDir, 'ssh_host_ed25519_key')}`,
    `PidFile ${join(plan.hostDir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${authorizedKeys} ${plan.authorizedKeys}`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin no',
    // Without PAM, sshd checks the password field itself and refuses a locked ('!') account: useradd -p '*'.
    'UsePAM no',
    // Homes live under the temp dir, whose modes and owners StrictModes would reject.
    'StrictModes no',
    'PrintMotd no',
    'Subsystem sftp internal-sftp',
    `AllowUsers ${plan.user}`,
    // Tests open many connections at once, all from the one bridge address: no random drops, no penalties for
    // the wrong-key attempts a test makes on purpose (PerSourcePenalties exists from OpenSSH 9.8).
    'MaxStartups 100:30:200',
    'MaxSessions 100',
    ...(penalties ? ['PerSourcePenalties no'] : []),
    `SetEnv ${env.map((pair) => `"${pair}"`).join(' ')}`,
    '',
  ].join('\n');
}

class Host implements LabHost {
  readonly port = SSH_PORT;
  constructor(
    private readonly plan: HostPlan,
    private readonly sessionEnv: NodeJS.ProcessEnv,
  ) {}

  get name(): string {
    return this.plan.name;
  }
  get address(): string {
    return this.plan.address;
  }
  get user(): string {
    return this.plan.user;
  }
  get home(): string {
    return this.plan.home;
  }
  get netns(): string {
    return this.plan.netns;
  }

  async cutOff(): Promise<void> {
    await exec(['ip', 'link', 'set', this.plan.veth, 'down']);
  }

  async restore(): Promise<void> {
    await exec(['ip', 'link', 'set', this.plan.veth, 'up']);
    await waitForSshd(this.address, () => undefined);
  }

  async run(argv: readonly string[]): Promise<CommandResult> {
    const setpriv = ['setpriv', `--reuid=${this.user}`, `--regid=${this.user}`, '--init-groups', '--'];
    const { code, stdout, stderr } = await capture(['ip', 'netns', 'exec', this.netns, ...setpriv, ...argv], {
      env: this.sessionEnv,
      cwd: this.home,
    });
    return { code, stdout, stderr };
  }

  async processes(): Promise<{ pid: number; args: string }[]> {
    // ps exits 1 when the user has no processes.
    const { stdout } = await capture(['ps', '-u', this.user, '-o', 'pid=,args=']);
    return stdout
      .split('\n')
      .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => ({ pid: Number(match[1]), args: match[2] ?? '' }))
      .filter(({ args }) => !/^\[?sshd(-session)?[:\]]/.test(args));
  }

  authorize(publicKey: string): void {
    appendFileSync(this.plan.authorizedKeys, `${publicKey.trim()}\n`, { mode: 0o644 });
  }
}

/** Starts one sshd host per entry of `hosts`, on a fresh bridge; dispose() the lab when done. */
export async function startSshLab(hosts: readonly LabHostOptions[]): Promise<SshLab> {
  checkPrerequisites();
  validate(hosts);
  const dir = mkdtempSync(join(tmpdir(), 'sweep-ssh-lab-'));
  let claim: { k: number; lockDir: string };
  try {
    claim = claimLabNumber();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const { k, lockDir } = claim;
  const bridge = `swbr${k}`;
  const plans: HostPlan[] = hosts.map((host, i) => ({
    ...host,
    address: `10.231.${k}.${FIRST_HOST_OCTET + i}`,
    netns: `sw${k}-${host.name}`,
    veth: `sw${k}v${i}`,
    user: `sw${k}${host.name}`,
    home: join(dir, 'home', host.name),
    hostDir: join(dir, 'hosts', host.name),
    authorizedKeys: join(dir, `authorized_keys.${host.name}`),
  }));
  // Recorded before anything is made, so that a failure halfway tears down exactly what exists.
  holdLab(lockDir, {
    pid: process.pid,
    dir,
    bridge,
    hosts: plans.map(({ netns, veth, user }) => ({ netns, veth, user })),
  });
  let disposed = false;
  const dispose = (): Promise<void> => {
    if (disposed) return Promise.resolve();
    disposed = true;
    const problems = releaseLab(lockDir);
    if (problems.length > 0) return Promise.reject(new Error(`ssh lab teardown failed:\n${problems.join('\n')}`));
    return Promise.resolve();
  };
  try {
    // Users' sessions read the authorized keys and live in homes below the lab dir.
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'home'), { mode: 0o755 });
    mkdirSync(join(dir, 'hosts'), { mode: 0o700 });
    const clientKey = join(dir, 'client_key');
    const wrongKey = join(dir, 'wrong_key');
    const authorizedKeys = join(dir, 'authorized_keys');
    const [clientPublic] = await Promise.all([
      keygen(clientKey, 'sweep-ssh-lab'),
      keygen(wrongKey, 'sweep-ssh-lab-wrong'),
    ]);
    writeFileSync(authorizedKeys, `${clientPublic}\n`, { mode: 0o644 });
    const nodeless = plans.some((plan) => plan.withoutNode) ? makeNodelessBin(join(dir, 'nodeless-bin')) : '';
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege separation directory

    await exec(['ip', 'link', 'add', bridge, 'type', 'bridge']);
    await exec(['ip', 'addr', 'add', `10.231.${k}.1/24`, 'dev', bridge]);
    await exec(['ip', 'link', 'set', bridge, 'up']);

    let penalties: boolean | undefined;
    const knownHosts: string[] = [];
    const started: { plan: HostPlan; exited: () => string | undefined; env: NodeJS.ProcessEnv }[] = [];
    for (const plan of plans) {
      await exec(['ip', 'netns', 'add', plan.netns]);
      await exec(['ip', 'link', 'add', plan.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', plan.netns]);
      await exec(['ip', 'link', 'set', plan.veth, 'master', bridge, 'up']);
      await exec(['ip', '-n', plan.netns, 'addr', 'add', `${plan.address}/24`, 'dev', 'eth0']);
      await exec(['ip', '-n', plan.netns, 'link', 'set', 'eth0', 'up']);
      await exec(['ip', '-n', plan.netns, 'link', 'set', 'lo', 'up']);
      await exec(['useradd', '-m', '-d', plan.home, '-s', '/bin/sh', '-p', '*', plan.user]);

      mkdirSync(plan.hostDir, { mode: 0o700 });
      const hostKey = await keygen(join(plan.hostDir, 'ssh_host_ed25519_key'), plan.name);
      knownHosts.push(`${plan.address} ${hostKey.split(' ').slice(0, 2).join(' ')}`);
      const path = [...(plan.pathPrepend ?? []), ...(plan.withoutNode ? [nodeless] : SESSION_PATH)].join(':');
      const config = join(plan.hostDir, 'sshd_config');
      if (penalties === undefined) {
        writeFileSync(config, sshdConfig(plan, authorizedKeys, path, true));
        const test = await capture([SSHD, '-t', '-f', config]);
        penalties = test.code === 0;
        if (!penalties && !/PerSourcePenalties/.test(test.stderr)) {
          throw new LabCommandError([SSHD, '-t', '-f', config], test.code, test.signal, test.stderr);
        }
      }
      writeFileSync(config, sshdConfig(plan, authorizedKeys, path, penalties));

      const logFile = join(plan.hostDir, 'sshd.log');
      const log = openSync(logFile, 'a');
      // ip netns exec execs sshd in place, so the child is sshd itself; -D keeps it in the foreground, -e logs
      // to the file. unref: a test that forgets dispose() still exits, and the exit hook then cleans up.
      const sshd = spawn('ip', ['netns', 'exec', plan.netns, SSHD, '-D', '-e', '-f', config], {
        env: TOOL_ENV,
        stdio: ['ignore', log, log],
      });
      closeSync(log);
      sshd.unref();
      // The log is read only while waiting for sshd: after dispose() it is gone along with the lab dir.
      let exit: string | undefined;
      sshd.once('exit', (code, signal) => (exit = describeExit(code, signal)));
      sshd.once('error', (error) => (exit = error.message));
      const exited = () => (exit === undefined ? undefined : `${exit}\n${readFileSync(logFile, 'utf8')}`);
      const env: NodeJS.ProcessEnv = {
        HOME: plan.home,
        USER: plan.user,
        LOGNAME: plan.user,
        SHELL: '/bin/sh',
        PATH: path,
        ...plan.env,
      };
      started.push({ plan, exited, env });
    }
    const knownHostsFile = join(dir, 'known_hosts');
    writeFileSync(knownHostsFile, `${knownHosts.join('\n')}\n`);
    await Promise.all(started.map(({ plan, exited }) => waitForSshd(plan.address, exited)));

    return {
      serverAddress: `10.231.${k}.1`,
      bridge,
      hosts: started.map(({ plan, env }) => new Host(plan, env)),
      clientKey,
      wrongKey,
      knownHosts: knownHostsFile,
      dir,
      dispose,
    };
  } catch (error) {
    await dispose().catch((teardown: unknown) => process.stderr.write(`${String(teardown)}\n`));
    throw error;
  }
}
