// One ssh connection to an inventory host, with ssh2: host keys checked against known_hosts (never "accept
// anything"), keys from files or the agent, ProxyJump, commands sent as quoted argv, files put over sftp. Every
// failure is a HostStepError that names the host and the step.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, ClientChannel, ConnectConfig, SFTPWrapper } from 'ssh2';
import { shellQuote } from '../sweep-spec/shell-words.js';
import { checkHostKey, knownHostsLine, knownHostsName, type HostKey, type HostKeyVerdict } from './known-hosts.js';

/** What a step on a host failed with: `hostB: ssh: authentication failed for user ben (key ~/.ssh/id_ed25519)`. */
export class HostStepError extends Error {
  override readonly name = 'HostStepError';
  constructor(
    readonly host: string,
    readonly step: string,
    readonly reason: string,
  ) {
    super(`${host}: ${step}: ${reason}`);
  }
}

export interface SshTarget {
  /** How Sweep names the host (queues `<name>-gpu<N>`, messages): the inventory's `name`, the alias or the address. */
  readonly name: string;
  /** Where ssh connects: the inventory's address, or the alias's HostName. */
  readonly address: string;
  readonly port: number;
  readonly user: string;
  /** Key files to offer, in order; empty: the ssh agent's keys only. */
  readonly keyFiles: readonly string[];
  /** Offer the agent's keys (SSH_AUTH_SOCK): where no key is given, or when asked. */
  readonly agent: boolean;
  readonly proxyJump?: string;
}

export interface SshOptions {
  /** Where keys are checked and, with acceptNewHostKeys, first-contact keys recorded. */
  readonly knownHostsFile: string;
  readonly acceptNewHostKeys: boolean;
  readonly connectTimeoutMs: number;
  /** The target a ProxyJump alias stands for (resolved through ~/.ssh/config like any host). */
  readonly resolveJump: (jump: string) => SshTarget;
}

export interface ExecResult {
  readonly code: number | null;
  readonly signal?: string;
  readonly stdout: string;
  readonly stderr: string;
}

/** The key files OpenSSH offers when none is configured. */
const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];
const GLOBAL_KNOWN_HOSTS = '/etc/ssh/ssh_known_hosts';

export function defaultKnownHostsFile(): string {
  return join(homedir(), '.ssh', 'known_hosts');
}

function tildePath(path: string): string {
  const home = homedir();
  return path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
}

/** An ssh key blob starts with its type as an ssh string (uint32 length, bytes). */
function hostKeyOf(blob: Buffer): HostKey {
  const length = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  return { type: blob.subarray(4, 4 + length).toString('latin1'), blob };
}

interface KeyOffer {
  readonly methods: AnyAuthMethod[];
  /** How the offer reads in an error: `key ~/.ssh/id_ed25519, agent`. */
  readonly described: string[];
  /** Keys that could not be used as they are (a passphrase without an agent to hold it). */
  readonly notes: string[];
}

function keyOffer(target: SshTarget): KeyOffer {
  const offer: KeyOffer = { methods: [], described: [], notes: [] };
  const agentSocket = process.env.SSH_AUTH_SOCK;
  const configured = target.keyFiles.length > 0;
  const files = configured
    ? target.keyFiles
    : DEFAULT_IDENTITIES.map((name) => join(homedir(), '.ssh', name)).filter((file) => existsSync(file));
  const offerAgent = () => {
    if (!agentSocket || offer.described.includes('agent')) return;
    offer.methods.push({ type: 'agent', username: target.user, agent: agentSocket });
    offer.described.push('agent');
  };
  if (target.agent) offerAgent();
  for (const file of files) {
    if (!existsSync(file)) {
      offer.notes.push(`key ${tildePath(file)} does not exist`);
      continue;
    }
    const key = readFileSync(file);
    const parsed = ssh2.utils.parseKey(key);
    if (parsed instanceof Error) {
      // Passphrases never travel through Sweep (not on a command line, not in a file): the agent holds them, so
      // with one running it is asked even where the inventory names the key file (as OpenSSH does).
      if (/passphrase/i.test(parsed.message)) offerAgent();
      offer.notes.push(
        /passphrase/i.test(parsed.message)
          ? `key ${tildePath(file)} has a passphrase: load it into your ssh agent (ssh-add ${tildePath(file)})`
          : `key ${tildePath(file)} cannot be read: ${parsed.message}`,
      );
      continue;
    }
    offer.methods.push({ type: 'publickey', username: target.user, key });
    offer.described.push(`key ${tildePath(file)}`);
  }
  return offer;
}

function verdictReason(verdict: HostKeyVerdict, target: SshTarget, file: string): string {
  const name = knownHostsName(target.address, target.port);
  switch (verdict.kind) {
    case 'unknown':
      return (
        `unknown host key for ${name} (${verdict.fingerprint}) in ${tildePath(file)}; ` +
        'check the fingerprint with the host owner, then run again with --accept-new-host-keys to trust it'
      );
    case 'changed':
      return (
        `the host key for ${name} has CHANGED (now ${verdict.fingerprint}; ${tildePath(file)}:${verdict.line} ` +
        'holds another): the host was reinstalled, or someone is in the middle. If you know why, remove the old ' +
        `line (ssh-keygen -R ${shellQuote([name])}) and run again with --accept-new-host-keys`
      );
    case 'revoked':
      return `the host key for ${name} (${verdict.fingerprint}) is marked @revoked in ${tildePath(file)}:${verdict.line}`;
    case 'known':
      return 'host key accepted';
  }
}

function socketReason(error: Error & { code?: string; level?: string }, target: SshTarget, timeoutMs: number): string {
  const where = `${target.address}:${target.port}`;
  if (error.level === 'client-timeout' || error.code === 'ETIMEDOUT')
    return `no answer from ${where} within ${timeoutMs / 1000} s (host down, or a firewall in the way)`;
  const meanings: Record<string, string> = {
    ECONNREFUSED: 'connection refused (is sshd running, on that port?)',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ENOTFOUND: 'no such host name',
    EAI_AGAIN: 'the host name could not be resolved',
    ECONNRESET: 'the connection was reset',
  };
  const meaning = (error.code && meanings[error.code]) ?? error.message;
  return `cannot connect to ${where}: ${meaning}`;
}

function connectClient(target: SshTarget, options: SshOptions, sock?: Readable): Promise<ssh2.Client> {
  const offer = keyOffer(target);
  if (offer.methods.length === 0) {
    const why = offer.notes.length ? offer.notes.join('; ') : 'no key file given and no ssh agent (SSH_AUTH_SOCK)';
    return Promise.reject(new HostStepError(target.name, 'ssh', `no key to offer for user ${target.user}: ${why}`));
  }
  let verdict: HostKeyVerdict | undefined;
  const client = new ssh2.Client();
  const config: ConnectConfig = {
    host: target.address,
    port: target.port,
    username: target.user,
    authHandler: offer.methods,
    readyTimeout: options.connectTimeoutMs,
    // A host cut off mid-command is noticed within 15 s rather than at the TCP timeout, minutes later.
    keepaliveInterval: 5000,
    keepaliveCountMax: 3,
    hostVerifier: (blob: Buffer) => {
      const key = hostKeyOf(blob);
      const known = [options.knownHostsFile, GLOBAL_KNOWN_HOSTS]
        .filter((file) => existsSync(file))
        .map((file) => readFileSync(file, 'utf8'))
        .join('\n');
      verdict = checkHostKey(known, target.address, target.port, key);
      if (verdict.kind === 'unknown' && options.acceptNewHostKeys) {
        mkdirSync(dirname(options.knownHostsFile), { recursive: true, mode: 0o700 });
        appendFileSync(options.knownHostsFile, knownHostsLine(target.address, target.port, key), { mode: 0o600 });
        verdict = { kind: 'known' };
      }
      return verdict.kind === 'known';
    },
    ...(sock ? { sock } : {}),
  };
  return new Promise((resolve, reject) => {
    client
      .once('ready', () => resolve(client))
      .once('error', (error: Error & { code?: string; level?: string }) => {
        client.end();
        if (verdict && verdict.kind !== 'known') {
          reject(new HostStepError(target.name, 'ssh', verdictReason(verdict, target, options.knownHostsFile)));
        } else if (error.level === 'client-authentication') {
          const notes = offer.notes.length ? `; ${offer.notes.join('; ')}` : '';
          reject(
            new HostStepError(
              target.name,
              'ssh',
              `authentication failed for user ${target.user} (${offer.described.join(', ')})${notes}`,
            ),
          );
        } else {
          reject(new HostStepError(target.name, 'ssh', socketReason(error, target, options.connectTimeoutMs)));
        }
      })
      .connect(config);
  });
}

function forward(client: ssh2.Client, target: SshTarget, via: SshTarget): Promise<Readable> {
  return new Promise((resolve, reject) =>
    client.forwardOut('127.0.0.1', 0, target.address, target.port, (error, channel) =>
      error
        ? reject(
            new HostStepError(
              target.name,
              'ssh',
              `ProxyJump ${via.name} cannot reach ${target.address}:${target.port}: ${error.message}`,
            ),
          )
        : resolve(channel),
    ),
  );
}

/**
 * The hops before `target`, first first: its ProxyJump list, each hop preceded by its own hops (as OpenSSH
 * follows a jump host's ProxyJump); a loop is an error, not a hang.
 */
function jumpChain(target: SshTarget, options: SshOptions, seen: readonly string[] = []): SshTarget[] {
  if (!target.proxyJump) return [];
  return target.proxyJump.split(',').flatMap((jump) => {
    const hop = options.resolveJump(jump.trim());
    if (seen.includes(hop.name) || hop.name === target.name) {
      throw new HostStepError(target.name, 'ssh', `ProxyJump loops through ${hop.name}`);
    }
    return [...jumpChain(hop, options, [...seen, target.name]), hop];
  });
}

export class SshSession {
  private sftpChannel: Promise<SFTPWrapper> | undefined;

  private constructor(
    readonly target: SshTarget,
    private readonly client: ssh2.Client,
    private readonly jumps: readonly ssh2.Client[],
  ) {}

  /** Connects through every ProxyJump hop, checking each hop's host key as ssh does. */
  static async open(target: SshTarget, options: SshOptions): Promise<SshSession> {
    const hops = jumpChain(target, options);
    const jumps: ssh2.Client[] = [];
    try {
      let sock: Readable | undefined;
      for (const [index, hop] of hops.entries()) {
        const client = await connectClient(hop, options, sock);
        jumps.push(client);
        sock = await forward(client, hops[index + 1] ?? target, hop);
      }
      return new SshSession(target, await connectClient(target, options, sock), jumps);
    } catch (error) {
      for (const jump of jumps) jump.end();
      throw error;
    }
  }

  /** Runs argv on the host (quoted for its POSIX shell: no word of it can inject anything); streams stdin in. */
  async exec(argv: readonly string[], options: { stdin?: Buffer | string; step: string }): Promise<ExecResult> {
    const channel = await this.channel(argv, options.step);
    let stdout = '';
    let stderr = '';
    channel.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    channel.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    channel.end(options.stdin);
    const { code, signal } = await this.closed(channel, options.step);
    return { code, ...(signal ? { signal } : {}), stdout, stderr };
  }

  /** Runs argv with its stdout piped into `into` (an archive coming back); resolves with the exit and stderr. */
  async execInto(
    argv: readonly string[],
    options: { stdin?: Buffer | string; into: Writable; step: string },
  ): Promise<ExecResult> {
    const channel = await this.channel(argv, options.step);
    let stderr = '';
    channel.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    channel.pipe(options.into);
    channel.end(options.stdin);
    const { code, signal } = await this.closed(channel, options.step);
    return { code, ...(signal ? { signal } : {}), stdout: '', stderr };
  }

  /** Writes a file on the host over sftp; `remotePath` is relative to the user's home (sftp starts there). */
  async upload(from: Buffer | Readable, remotePath: string, mode: number, step: string): Promise<void> {
    const sftp = await this.sftp(step);
    await new Promise<void>((resolve, reject) => {
      const out = sftp.createWriteStream(remotePath, { mode });
      out.once('error', (error: Error) =>
        reject(new HostStepError(this.target.name, step, `sftp ${remotePath}: ${error.message}`)),
      );
      out.once('close', () => resolve());
      if (Buffer.isBuffer(from)) out.end(from);
      else from.pipe(out);
    });
    // A file that existed keeps its old mode through open(); secrets must end 0600 either way.
    await new Promise<void>((resolve, reject) =>
      sftp.chmod(remotePath, mode, (error) =>
        error ? reject(new HostStepError(this.target.name, step, `chmod ${remotePath}: ${error.message}`)) : resolve(),
      ),
    );
  }

  /** Makes a directory over sftp (0700: only Sweep's own state goes in such directories); one that exists is fine. */
  async mkdir(remotePath: string, step: string): Promise<void> {
    const sftp = await this.sftp(step);
    await new Promise<void>((resolve, reject) =>
      sftp.mkdir(remotePath, { mode: 0o700 }, (error) => {
        if (!error) return resolve();
        sftp.stat(remotePath, (missing, stats) =>
          !missing && stats.isDirectory()
            ? resolve()
            : reject(new HostStepError(this.target.name, step, `mkdir ${remotePath}: ${error.message}`)),
        );
      }),
    );
  }

  close(): void {
    this.client.end();
    for (const jump of this.jumps) jump.end();
  }

  private channel(argv: readonly string[], step: string): Promise<ClientChannel> {
    return new Promise((resolve, reject) =>
      this.client.exec(shellQuote(argv), (error, channel) =>
        error ? reject(new HostStepError(this.target.name, step, `ssh exec: ${error.message}`)) : resolve(channel),
      ),
    );
  }

  private closed(channel: ClientChannel, step: string): Promise<{ code: number | null; signal?: string }> {
    return new Promise((resolve, reject) => {
      const lost = (error?: unknown) =>
        reject(
          new HostStepError(
            this.target.name,
            step,
            `the connection was lost${error instanceof Error ? ` (${error.message})` : ''}`,
          ),
        );
      this.client.once('close', lost).once('error', lost);
      channel.once('close', (code: number | null, signal?: string) => {
        this.client.off('close', lost).off('error', lost);
        resolve({ code: code ?? null, ...(signal ? { signal } : {}) });
      });
    });
  }

  private sftp(step: string): Promise<SFTPWrapper> {
    this.sftpChannel ??= new Promise((resolve, reject) =>
      this.client.sftp((error, sftp) =>
        error ? reject(new HostStepError(this.target.name, step, `sftp: ${error.message}`)) : resolve(sftp),
      ),
    );
    return this.sftpChannel;
  }
}
