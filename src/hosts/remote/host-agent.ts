// What `sweep hosts` and `sweep fetch` run on a GPU host, as `node --input-type=module - <command> <json>` with this
// compiled file piped on stdin. Hosts have only Node and ssh, so nothing is installed there: this file is the whole
// program and imports only `node:` built-ins (a unit test holds it to that). Each command prints one JSON line on
// stdout, `{"ok":true,...}` or `{"ok":false,"error","step"}` with exit code 1; `pack` streams an archive instead.
// Linux only where processes are concerned: liveness, the supervisor's identity and the final sweep read /proc.
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, existsSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, rm, stat, statfs, unlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';

/** Set in the supervisor's and every worker's environment; `stop` kills whatever still carries it. */
export const STATE_ENV = 'SWEEP_HOST_STATE';
/** Where `unpack` records the paths a sync put there, for the next sync to know what it owns. */
export const SYNCED_FILE = '.sweep-synced.json';
export const SYSTEMD_UNIT = 'sweep-host.service';
export const AGENT_COMMANDS = ['probe', 'hashes', 'unpack', 'pack', 'start', 'status', 'stop'] as const;
export type AgentCommand = (typeof AGENT_COMMANDS)[number];

const NVIDIA_SMI_QUERY = [
  '--query-gpu=index,uuid,name,memory.total,memory.free,utilization.gpu',
  '--format=csv,noheader,nounits',
];
const NVIDIA_SMI_TIMEOUT_MS = 10_000;
const TEMPORAL_CONNECT_TIMEOUT_MS = 3_000;
/** The supervisor gives its workers 30 s to hand back their trials; this leaves it time to finish that. */
const SUPERVISOR_STOP_GRACE_MS = 35_000;
const LEFTOVER_STOP_GRACE_MS = 10_000;
const SUPERVISOR_START_TIMEOUT_MS = 10_000;
/** A header line longer than this is no header: the stream is not an archive, and reading on would fill memory. */
const MAX_HEADER_BYTES = 64 * 1024;
const MB = 1_000_000;

/** A failed command: `step` says which part of it failed, for the caller's message. */
export class AgentError extends Error {
  override readonly name = 'AgentError';
  constructor(
    readonly step: string,
    message: string,
  ) {
    super(message);
  }
}

/** Thrown when an archive is malformed or names a path outside the directory it is unpacked into. */
export class ArchiveError extends Error {
  override readonly name = 'ArchiveError';
}

// ---------------------------------------------------------------------------------------------------------------
// Shapes: what each command takes and prints.

export interface AgentFailure {
  readonly ok: false;
  readonly error: string;
  readonly step: string;
}

export interface ProbeArgument {
  readonly temporalAddress: string;
  readonly dir: string;
}

export interface CommandOutput {
  readonly found: boolean;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut?: true;
}

export interface ProbeResult {
  readonly ok: true;
  readonly hostname: string;
  /** What `~/` means on the host: the caller resolves its own paths against it. */
  readonly home: string;
  readonly platform: string;
  readonly arch: string;
  readonly osRelease: string;
  readonly distro: string | null;
  readonly node: string;
  readonly cpus: number;
  /** Decimal megabytes, as the inventory's `minGpuMemoryMb`. */
  readonly memory: { readonly totalMb: number; readonly availableMb: number };
  readonly disk: { readonly path: string; readonly freeMb: number };
  /** Raw: the caller parses it. */
  readonly nvidiaSmi: CommandOutput;
  readonly temporal: { readonly reachable: boolean; readonly ms?: number; readonly error?: string };
  readonly systemd: boolean;
}

export interface HashesArgument {
  readonly dir: string;
  readonly paths: readonly string[];
}

export interface HashesResult {
  readonly ok: true;
  /** sha256 hex of each regular file; null where there is none (missing, a directory, a symlink). */
  readonly hashes: Record<string, string | null>;
  readonly synced: string[];
}

export interface UnpackArgument {
  readonly archive: string;
  readonly dir: string;
  readonly remove: readonly string[];
  readonly record: readonly string[] | null;
  readonly noOverwrite: boolean;
}

export interface UnpackCounts {
  readonly written: number;
  readonly skipped: number;
}

export interface UnpackResult extends UnpackCounts {
  readonly ok: true;
  readonly removed: number;
}

export interface PackArgument {
  readonly dir: string;
  readonly paths: readonly string[] | null;
}

/** One worker the supervisor keeps running; `name` names its log and pid files. */
export interface WorkerSpec {
  readonly name: string;
  readonly argv: readonly string[];
  readonly cwd: string;
}

export interface StartArgument {
  readonly stateDir: string;
  readonly supervisor: string;
  /**
   * Names the content of connection.json (uploaded apart, so that a secret is never on a command line): kept in
   * workers.json, so that a new connection alone also makes `changed` true and the supervisor reload.
   */
  readonly revision?: string;
  readonly workers: readonly WorkerSpec[];
}

export type SupervisorMode = 'systemd' | 'supervisor';

export interface StartResult {
  readonly ok: true;
  readonly mode: SupervisorMode;
  readonly pid: number;
  /** workers.json differs from what was there (a running supervisor was told to reload). */
  readonly changed: boolean;
}

export interface StatusArgument {
  readonly stateDir: string;
}

export interface WorkerExit {
  readonly code: number | null;
  readonly signal: string | null;
  readonly at: string;
  readonly error?: string;
}

export interface WorkerStatus {
  readonly name: string;
  readonly pid?: number;
  readonly running: boolean;
  readonly restarts: number;
  readonly startedAt?: string;
  readonly lastExit?: WorkerExit;
  /** The worker bundle its command runs from (`<stateDir>/bundles/<id>/...`, as `sweep hosts up` ships it). */
  readonly bundle?: string;
}

export interface StatusResult {
  readonly ok: true;
  readonly supervisor: { readonly running: boolean; readonly pid?: number; readonly mode?: SupervisorMode };
  readonly workers: WorkerStatus[];
}

export interface StopArgument {
  readonly stateDir: string;
  readonly purge: readonly string[];
}

export interface StopResult {
  readonly ok: true;
  /** Processes still carrying the state marker after the supervisor was gone: none, when all went well. */
  readonly killed: number[];
}

// ---------------------------------------------------------------------------------------------------------------
// Small helpers.

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Runs one part of a command; an error from it fails the command with that step's name. */
async function inStep<T>(step: string, run: () => Promise<T> | T): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof AgentError) throw error;
    throw new AgentError(step, errorMessage(error));
  }
}

/** `~` and `~/x` are the user's home; the caller writes paths as the user would in hosts.yml. */
export function expandHome(path: string, home: string = os.homedir()): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}

function absolute(path: string): string {
  return resolve(expandHome(path));
}

async function writeAtomic(path: string, text: string, mode = 0o644): Promise<void> {
  const partial = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(partial, text, { mode });
    await rename(partial, path);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((wake) => setTimeout(wake, everyMs));
  }
}

interface RunOptions {
  readonly timeoutMs: number;
  readonly env?: NodeJS.ProcessEnv;
}

/** A command's exit code and output; never rejects: a command that is not there is `found: false`. */
function runCommand(command: string, args: readonly string[], options: RunOptions): Promise<CommandOutput> {
  return new Promise((resolveRun) => {
    execFile(
      command,
      args,
      { timeout: options.timeoutMs, env: options.env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) return resolveRun({ found: true, code: 0, stdout, stderr });
        if (errorCode(error) === 'ENOENT') return resolveRun({ found: false, code: null, stdout: '', stderr: '' });
        const failed = error as { code?: unknown; killed?: boolean; signal?: string | null };
        const code = typeof failed.code === 'number' ? failed.code : null;
        if (failed.killed && code === null) return resolveRun({ found: true, code, stdout, stderr, timedOut: true });
        resolveRun({ found: true, code, stdout, stderr: stderr || errorMessage(error) });
      },
    );
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Processes: Node has no way to ask who a pid is, so /proc answers.

/** Alive and not a zombie: a dead worker that nobody reaped still answers kill(0). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return !existsSync('/proc/self');
  }
}

function processArgs(pid: number): string[] | undefined {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (args.at(-1) === '') args.pop();
    return args;
  } catch {
    return undefined;
  }
}

/** `node [flags] <script> <stateDir>` as the supervisor is started, or undefined for any other command. */
function supervisorCommand(args: readonly string[]): { script: string; stateDir: string } | undefined {
  const rest = args.slice(1);
  const at = rest.findIndex((arg) => !arg.startsWith('-'));
  const script = rest[at];
  const stateDir = rest[at + 1];
  if (at < 0 || script === undefined || stateDir === undefined || rest.length !== at + 2) return undefined;
  return { script: resolve(script), stateDir: resolve(stateDir) };
}

export function readPidFile(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The live supervisor that stateDir's pid file names, checked against its command line so a reused pid is not it. */
function runningSupervisor(stateDir: string): { pid: number; script: string } | undefined {
  const pid = readPidFile(join(stateDir, 'supervisor.pid'));
  if (pid === undefined || !isAlive(pid)) return undefined;
  const command = supervisorCommand(processArgs(pid) ?? []);
  return command?.stateDir === stateDir ? { pid, script: command.script } : undefined;
}

/** Every live process of this user whose environment carries stateDir's marker (except this one). */
export function markedProcesses(stateDir: string): number[] {
  const entry = `${STATE_ENV}=${stateDir}`;
  const uid = process.getuid?.();
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      if (statSync(`/proc/${name}`).uid !== uid) continue;
      if (!readFileSync(`/proc/${name}/environ`, 'utf8').split('\0').includes(entry)) continue;
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    if (isAlive(pid)) pids.push(pid);
  }
  return pids;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if (errorCode(error) !== 'ESRCH') throw error;
  }
}

/** SIGTERM, up to `graceMs` to exit, then SIGKILL; true when it had to be killed. */
async function terminate(pids: readonly number[], graceMs: number): Promise<boolean> {
  for (const pid of pids) signal(pid, 'SIGTERM');
  if (await waitFor(() => pids.every((pid) => !isAlive(pid)), graceMs, 100)) return false;
  for (const pid of pids) if (isAlive(pid)) signal(pid, 'SIGKILL');
  await waitFor(() => pids.every((pid) => !isAlive(pid)), 5_000, 50);
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Archive: gzip (level 1: the network, not the CPU, is the limit) of records, each a JSON header line
// `{"path","mode","size"}` and exactly `size` bytes, ending with `{"end":true}`.

const ARCHIVE_END = '{"end":true}\n';

/** Checks a path from an archive (or a caller) and returns it with `.` and empty segments dropped. */
export function checkArchivePath(path: string): string {
  const shown = JSON.stringify(path);
  if (path.includes('\0')) throw new ArchiveError(`archive path ${shown}: contains a NUL byte`);
  if (path.startsWith('/')) throw new ArchiveError(`archive path ${shown}: is absolute`);
  const segments = path.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) throw new ArchiveError(`archive path ${shown}: has a ".." segment`);
  if (segments.length === 0) throw new ArchiveError(`archive path ${shown}: names no file`);
  return segments.join('/');
}

/** Temporary names `unpack` writes before renaming; a walk leaves them (and the sync record) out. */
function isAgentFile(relative: string): boolean {
  return relative === SYNCED_FILE || /(^|\/)\.[^/]*\.sweep-tmp-[0-9a-f]+$/.test(relative);
}

/** Every regular file under root, sorted; symlinks are not followed (a link to a parent would never end). */
async function walk(root: string): Promise<string[]> {
  const found: string[] = [];
  const visit = async (relative: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(join(root, relative), { withFileTypes: true });
    } catch (error) {
      if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return;
      throw error;
    }
    for (const entry of entries) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) await visit(path);
      else if (entry.isFile() && !isAgentFile(path)) found.push(path);
    }
  };
  await visit('');
  return found.sort();
}

async function* archiveRecords(root: string, paths: readonly string[] | null): AsyncGenerator<Buffer> {
  const list = paths === null ? await walk(root) : paths.map(checkArchivePath);
  for (const path of list) {
    const full = join(root, path);
    // Listed paths follow symlinks (the caller named them); anything but a regular file (a FIFO would block
    // the open) or a file gone meanwhile is left out, and the receiver sees what arrived.
    try {
      if (!(await stat(full)).isFile()) continue;
    } catch (error) {
      if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') continue;
      throw error;
    }
    const handle = await open(full, 'r');
    let closed = false;
    try {
      const info = await handle.stat();
      const size = info.size;
      yield Buffer.from(`${JSON.stringify({ path, mode: info.mode & 0o777, size })}\n`);
      if (size === 0) continue;
      // Exactly the size announced: a log that grows meanwhile is cut there; one that shrinks spoils the archive.
      let sent = 0;
      closed = true; // the stream owns the handle from here and closes it
      for await (const chunk of handle.createReadStream({ start: 0, end: size - 1 })) {
        sent += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      if (sent !== size) throw new ArchiveError(`${path}: shrank from ${size} to ${sent} bytes while being packed`);
    } finally {
      if (!closed) await handle.close();
    }
  }
  yield Buffer.from(ARCHIVE_END);
}

/** The archive of `paths` under root (null: every regular file below it); a missing root gives an empty one. */
export function packFiles(root: string, paths: readonly string[] | null): Readable {
  const gzip = createGzip({ level: 1 });
  const records = Readable.from(archiveRecords(root, paths), { objectMode: false });
  records.on('error', (error) => gzip.destroy(error));
  // A reader that goes away (the ssh channel closed) must not leave a file open behind a paused generator.
  gzip.on('close', () => records.destroy());
  return records.pipe(gzip);
}

/** Reads an uncompressed archive's lines and byte runs, holding no more than one chunk at a time. */
class RecordReader {
  private buffer: Buffer = Buffer.alloc(0);
  private ended = false;

  constructor(private readonly chunks: AsyncIterator<Buffer>) {}

  private async more(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.chunks.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    this.buffer = this.buffer.length === 0 ? next.value : Buffer.concat([this.buffer, next.value]);
    return true;
  }

  /** The next line without its newline; undefined at a clean end of stream. */
  async line(): Promise<string | undefined> {
    for (;;) {
      const newline = this.buffer.indexOf(10);
      if (newline >= 0) {
        const line = this.buffer.subarray(0, newline).toString('utf8');
        this.buffer = this.buffer.subarray(newline + 1);
        return line;
      }
      if (this.buffer.length > MAX_HEADER_BYTES) throw new ArchiveError('archive: header line too long');
      if (!(await this.more())) {
        if (this.buffer.length === 0) return undefined;
        throw new ArchiveError('archive: cut short inside a header');
      }
    }
  }

  /** Exactly `size` bytes, in the chunks they arrive in. */
  async *bytes(size: number, path: string): AsyncGenerator<Buffer> {
    let left = size;
    while (left > 0) {
      if (this.buffer.length === 0 && !(await this.more())) {
        throw new ArchiveError(`${path}: archive cut short (${left} of ${size} bytes missing)`);
      }
      const piece = this.buffer.subarray(0, Math.min(left, this.buffer.length));
      this.buffer = this.buffer.subarray(piece.length);
      left -= piece.length;
      yield piece;
    }
  }

  async atEnd(): Promise<boolean> {
    while (this.buffer.length === 0) if (!(await this.more())) return true;
    return false;
  }
}

function parseHeader(line: string): { end: true } | { path: string; mode: number; size: number } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new ArchiveError(`archive: not a header line: ${JSON.stringify(line.slice(0, 200))}`);
  }
  if (!isRecord(value)) throw new ArchiveError('archive: a header is not a JSON object');
  if (value.end === true) return { end: true };
  const { path, mode, size } = value;
  if (typeof path !== 'string') throw new ArchiveError('archive: a header has no path');
  if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new ArchiveError(`archive path ${JSON.stringify(path)}: bad mode ${JSON.stringify(mode)}`);
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new ArchiveError(`archive path ${JSON.stringify(path)}: bad size ${JSON.stringify(size)}`);
  }
  return { path, mode, size };
}

/**
 * Where `relative` lives under dir, creating missing parents; refuses a parent that is a symlink (it could lead
 * out of dir) or not a directory. `create: false` returns undefined where a parent is missing instead.
 */
async function placeUnder(dir: string, relative: string, create: boolean): Promise<string | undefined> {
  const segments = relative.split('/');
  let current = dir;
  for (const [index, segment] of segments.slice(0, -1).entries()) {
    current = join(current, segment);
    const shown = segments.slice(0, index + 1).join('/');
    let info;
    try {
      info = await lstat(current);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      if (!create) return undefined;
      await mkdir(current).catch((mkdirError: unknown) => {
        if (errorCode(mkdirError) !== 'EEXIST') throw mkdirError;
      });
      info = await lstat(current);
    }
    if (info.isSymbolicLink()) throw new ArchiveError(`${relative}: ${shown} is a symbolic link`);
    if (!info.isDirectory()) throw new ArchiveError(`${relative}: ${shown} is not a directory`);
  }
  return join(dir, relative);
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}

async function writeEntry(target: string, mode: number, data: AsyncIterable<Buffer>): Promise<void> {
  const partial = join(dirname(target), `.${basename(target)}.sweep-tmp-${randomBytes(6).toString('hex')}`);
  const handle = await open(partial, 'wx', 0o600);
  try {
    for await (const chunk of data) await handle.write(chunk);
    await handle.chmod(mode & 0o777);
    await handle.close();
    await rename(partial, target);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(partial, { force: true });
    throw error;
  }
}

/**
 * Unpacks an archive into dir (created if missing), each file written whole under a temporary name and renamed into
 * place with its mode. With `noOverwrite` a file that exists is left alone and counted as skipped.
 */
export async function unpackArchive(
  input: Readable,
  dir: string,
  options: { readonly noOverwrite?: boolean } = {},
): Promise<UnpackCounts> {
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
  input.on('error', (error) => gunzip.destroy(error));
  // The iterator below reports the first error; zlib may emit another for input still arriving after it.
  gunzip.on('error', () => undefined);
  input.pipe(gunzip);
  const reader = new RecordReader(gunzip[Symbol.asyncIterator]() as AsyncIterator<Buffer>);
  let written = 0;
  let skipped = 0;
  try {
    await mkdir(dir, { recursive: true });
    for (;;) {
      const line = await reader.line();
      if (line === undefined) throw new ArchiveError('archive: cut short (no end record)');
      const header = parseHeader(line);
      if ('end' in header) break;
      const path = checkArchivePath(header.path);
      const target = await placeUnder(dir, path, true);
      if (target === undefined) throw new ArchiveError(`${path}: no place for it`);
      if (options.noOverwrite && (await exists(target))) {
        for await (const piece of reader.bytes(header.size, path)) void piece;
        skipped += 1;
        continue;
      }
      try {
        await writeEntry(target, header.mode, reader.bytes(header.size, path));
      } catch (error) {
        if (error instanceof ArchiveError) throw error;
        throw new Error(`${path}: ${errorMessage(error)}`);
      }
      written += 1;
    }
    // Reading to the end checks gzip's checksum, and that nothing follows the end record.
    if (!(await reader.atEnd())) throw new ArchiveError('archive: data after the end record');
    return { written, skipped };
  } catch (error) {
    input.destroy();
    throw error;
  } finally {
    gunzip.destroy();
    input.unpipe(gunzip);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The JSON argument: the CLI builds it, so a problem is a bug there; all problems are reported at once.

class Argument {
  private readonly used = new Set<string>();
  private readonly problems: string[] = [];

  private constructor(private readonly fields: Record<string, unknown>) {}

  static parse(json: string | undefined): Argument {
    if (json === undefined) throw new AgentError('usage', 'missing the JSON argument');
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch (error) {
      throw new AgentError('usage', `argument: not JSON: ${errorMessage(error)}`);
    }
    if (!isRecord(value)) throw new AgentError('usage', 'argument: expected a JSON object');
    return new Argument(value);
  }

  private take(key: string): unknown {
    this.used.add(key);
    return this.fields[key];
  }

  problem(key: string, message: string): void {
    this.problems.push(`${key}: ${message}`);
  }

  string(key: string, fallback?: string): string {
    const value = this.take(key);
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value === 'string' && value !== '') return value;
    this.problem(key, `expected a non-empty string, got ${JSON.stringify(value)}`);
    return '';
  }

  optionalString(key: string): string | undefined {
    return this.take(key) === undefined ? undefined : this.string(key);
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.take(key);
    if (value === undefined) return fallback;
    if (typeof value === 'boolean') return value;
    this.problem(key, `expected true or false, got ${JSON.stringify(value)}`);
    return fallback;
  }

  /** Paths on the host (absolute, or from `~/`), unlike `paths`, which are relative to a directory. */
  strings(key: string): string[] {
    const value = this.take(key);
    if (Array.isArray(value) && value.every((item) => typeof item === 'string' && item !== ''))
      return value as string[];
    this.problem(key, 'expected a list of non-empty strings');
    return [];
  }

  paths(key: string): string[];
  paths(key: string, nullable: true): string[] | null;
  paths(key: string, nullable = false): string[] | null {
    const value = this.take(key);
    if (value === null && nullable) return null;
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
      this.problem(key, `expected a list of strings${nullable ? ' or null' : ''}`);
      return [];
    }
    const checked: string[] = [];
    for (const [index, path] of value.entries()) {
      try {
        checked.push(checkArchivePath(path));
      } catch (error) {
        this.problem(`${key}[${index}]`, errorMessage(error));
      }
    }
    return checked;
  }

  workers(key: string): WorkerSpec[] {
    const value = this.take(key);
    if (!Array.isArray(value)) {
      this.problem(key, 'expected a list of workers');
      return [];
    }
    const names = new Set<string>();
    return value.map((item: unknown, index): WorkerSpec => {
      const at = `${key}[${index}]`;
      if (!isRecord(item)) {
        this.problem(at, 'expected {name, argv, cwd}');
        return { name: '', argv: [], cwd: '' };
      }
      const { name, argv, cwd, ...rest } = item;
      for (const extra of Object.keys(rest)) this.problem(`${at}.${extra}`, 'unknown key');
      if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
        this.problem(`${at}.name`, `expected letters, digits, ".", "_" or "-", got ${JSON.stringify(name)}`);
      } else if (names.has(name)) {
        this.problem(`${at}.name`, `${name} is named twice`);
      } else {
        names.add(name);
      }
      if (!Array.isArray(argv) || argv.length === 0 || !argv.every((arg) => typeof arg === 'string')) {
        this.problem(`${at}.argv`, 'expected a non-empty list of strings');
      }
      if (typeof cwd !== 'string' || cwd === '') this.problem(`${at}.cwd`, 'expected a non-empty string');
      return { name: String(name), argv: Array.isArray(argv) ? argv.map(String) : [], cwd: String(cwd) };
    });
  }

  /** Throws every problem at once, and any key nobody asked for (a typo in the caller). */
  end(): void {
    for (const key of Object.keys(this.fields)) if (!this.used.has(key)) this.problem(key, 'unknown key');
    if (this.problems.length > 0) throw new AgentError('usage', `argument: ${this.problems.join('; ')}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// probe

async function distro(): Promise<string | null> {
  try {
    const text = await readFile('/etc/os-release', 'utf8');
    const line = text.split('\n').find((candidate) => candidate.startsWith('PRETTY_NAME='));
    if (line === undefined) return null;
    return line.slice('PRETTY_NAME='.length).replace(/^(["'])(.*)\1$/, '$2');
  } catch {
    return null;
  }
}

async function availableMemoryMb(): Promise<number> {
  try {
    const match = /^MemAvailable:\s+(\d+) kB$/m.exec(await readFile('/proc/meminfo', 'utf8'));
    if (match?.[1] !== undefined) return Math.floor((Number(match[1]) * 1024) / MB);
  } catch {
    // not Linux, or an old kernel: freemem is the nearest figure
  }
  return Math.floor(os.freemem() / MB);
}

async function nearestExisting(path: string): Promise<string> {
  for (let current = path; ; current = dirname(current)) {
    try {
      await stat(current);
      return current;
    } catch {
      if (dirname(current) === current) return current;
    }
  }
}

async function freeDisk(dir: string): Promise<{ path: string; freeMb: number }> {
  const path = await nearestExisting(absolute(dir));
  const info = await statfs(path);
  return { path, freeMb: Math.floor((info.bavail * info.bsize) / MB) };
}

function splitAddress(address: string): { host: string; port: number } | undefined {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  if (!match?.[1] || !match[2]) return undefined;
  return { host: match[1], port: Number(match[2]) };
}

function reachTemporal(address: string): Promise<ProbeResult['temporal']> {
  const target = splitAddress(address);
  if (!target) return Promise.resolve({ reachable: false, error: `not host:port: ${address}` });
  return new Promise((done) => {
    const started = Date.now();
    const socket = connect({ host: target.host, port: target.port });
    const timer = setTimeout(() => {
      socket.destroy();
      done({ reachable: false, error: `no answer within ${TEMPORAL_CONNECT_TIMEOUT_MS / 1000} s` });
    }, TEMPORAL_CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      done({ reachable: true, ms: Date.now() - started });
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      done({ reachable: false, error: errorMessage(error) });
    });
  });
}

/** systemctl --user reaches the user's manager through XDG_RUNTIME_DIR, which a plain `ssh host cmd` may not set. */
function userManagerEnv(): NodeJS.ProcessEnv {
  const uid = process.getuid?.();
  const runtime = `/run/user/${uid}`;
  if (process.env.XDG_RUNTIME_DIR || uid === undefined || !existsSync(runtime)) return process.env;
  return { ...process.env, XDG_RUNTIME_DIR: runtime };
}

function systemctl(args: readonly string[]): Promise<CommandOutput> {
  return runCommand('systemctl', ['--user', ...args], { timeoutMs: 30_000, env: userManagerEnv() });
}

/**
 * A user unit outlives the ssh session only with lingering on (else logind may stop the user's manager, and the
 * workers with it, at logout), and a manager that is not up cannot run one at all.
 */
async function systemdUsable(): Promise<boolean> {
  try {
    const state = await runCommand('systemctl', ['--user', 'is-system-running'], {
      timeoutMs: 5_000,
      env: userManagerEnv(),
    });
    if (!['running', 'degraded'].includes(state.stdout.trim())) return false;
    const user = process.env.USER || os.userInfo().username;
    const linger = await runCommand('loginctl', ['show-user', user, '-p', 'Linger'], { timeoutMs: 5_000 });
    return linger.code === 0 && linger.stdout.trim() === 'Linger=yes';
  } catch {
    return false;
  }
}

export async function probe(argument: ProbeArgument): Promise<ProbeResult> {
  const [disk, nvidiaSmi, temporal, systemd, availableMb, distroName] = await Promise.all([
    inStep('disk', () => freeDisk(argument.dir)),
    runCommand('nvidia-smi', NVIDIA_SMI_QUERY, { timeoutMs: NVIDIA_SMI_TIMEOUT_MS }),
    reachTemporal(argument.temporalAddress),
    systemdUsable(),
    availableMemoryMb(),
    distro(),
  ]);
  return {
    ok: true,
    hostname: os.hostname(),
    home: os.homedir(),
    platform: os.platform(),
    arch: os.arch(),
    osRelease: os.release(),
    distro: distroName,
    node: process.version,
    cpus: os.cpus().length,
    memory: { totalMb: Math.floor(os.totalmem() / MB), availableMb },
    disk,
    nvidiaSmi,
    temporal,
    systemd,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// hashes, unpack, pack

async function sha256(path: string): Promise<string | null> {
  try {
    if (!(await lstat(path)).isFile()) return null;
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return null;
    throw error;
  }
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

async function readSynced(dir: string): Promise<string[]> {
  try {
    const value: unknown = JSON.parse(await readFile(join(dir, SYNCED_FILE), 'utf8'));
    if (isRecord(value) && Array.isArray(value.paths)) {
      return value.paths.filter((path): path is string => typeof path === 'string');
    }
  } catch {
    // never synced, or a record cut short: the caller then owns nothing there
  }
  return [];
}

export async function hashes(argument: HashesArgument): Promise<HashesResult> {
  const dir = absolute(argument.dir);
  const result: Record<string, string | null> = {};
  await inStep('hash', async () => {
    const queue = argument.paths.map(checkArchivePath);
    const worker = async () => {
      for (let path = queue.shift(); path !== undefined; path = queue.shift())
        result[path] = await sha256(join(dir, path));
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  });
  return { ok: true, hashes: result, synced: await readSynced(dir) };
}

/** Deletes the files at `paths` under dir; directories and missing files are left, and nothing outside is reached. */
async function removeFiles(dir: string, paths: readonly string[]): Promise<number> {
  let removed = 0;
  for (const path of paths.map(checkArchivePath)) {
    const target = await placeUnder(dir, path, false);
    if (target === undefined) continue;
    try {
      if ((await lstat(target)).isDirectory()) continue;
      await unlink(target);
      removed += 1;
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw new Error(`${path}: ${errorMessage(error)}`);
    }
  }
  return removed;
}

export async function unpack(argument: UnpackArgument): Promise<UnpackResult> {
  const dir = absolute(argument.dir);
  const archive = absolute(argument.archive);
  try {
    const counts = await inStep('extract', () =>
      unpackArchive(createReadStream(archive), dir, { noOverwrite: argument.noOverwrite }),
    );
    const removed = await inStep('remove', () => removeFiles(dir, argument.remove));
    const record = argument.record;
    if (record !== null) {
      await inStep('record', () => writeAtomic(join(dir, SYNCED_FILE), `${JSON.stringify({ paths: record })}\n`));
    }
    return { ok: true, ...counts, removed };
  } finally {
    await rm(archive, { force: true });
  }
}

export async function pack(argument: PackArgument, out: Writable): Promise<void> {
  await pipeline(packFiles(absolute(argument.dir), argument.paths), out);
}

// ---------------------------------------------------------------------------------------------------------------
// start, status, stop

export interface SystemdUnitOptions {
  /** The node binary that runs the supervisor (the agent's own). */
  readonly node: string;
  readonly supervisor: string;
  /** Absolute. */
  readonly stateDir: string;
}

/** systemd unquotes with C escapes and expands `%` specifiers everywhere and `$` variables in Exec lines. */
function systemdWord(value: string, exec: boolean): string {
  const control = [...value].some((char) => char.charCodeAt(0) < 0x20 || char === '\x7f');
  if (control) throw new Error(`cannot put ${JSON.stringify(value)} in a systemd unit`);
  const specifiersEscaped = value.replace(/%/g, '%%');
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return specifiersEscaped;
  const escaped = specifiersEscaped.replace(/[\\"]/g, (char) => `\\${char}`);
  return `"${exec ? escaped.replace(/\$/g, () => '$$') : escaped}"`;
}

/** The user unit that keeps the supervisor for stateDir running; its Environment line marks whose it is. */
export function systemdUnit(options: SystemdUnitOptions): string {
  const exec = [options.node, options.supervisor, options.stateDir].map((word) => systemdWord(word, true));
  return [
    '[Unit]',
    `Description=Sweep workers (${options.stateDir.replace(/%/g, '%%')})`,
    '',
    '[Service]',
    'Type=simple',
    `Environment=${systemdWord(`${STATE_ENV}=${options.stateDir}`, false)}`,
    `ExecStart=${exec.join(' ')}`,
    'ExecReload=/bin/kill -HUP $MAINPID',
    'Restart=always',
    'RestartSec=5',
    // The whole cgroup is stopped, so a worker's trial processes cannot outlive the unit.
    'KillMode=control-group',
    // The supervisor gives its workers 30 s to hand back their trials before it kills them.
    'TimeoutStopSec=45',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}

function unitPath(): string {
  return join(os.homedir(), '.config', 'systemd', 'user', SYSTEMD_UNIT);
}

/** Whether the installed unit is the one for stateDir (there is one unit per user). */
async function unitManages(stateDir: string): Promise<boolean> {
  try {
    const text = await readFile(unitPath(), 'utf8');
    return text.split('\n').includes(`Environment=${systemdWord(`${STATE_ENV}=${stateDir}`, false)}`);
  } catch {
    return false;
  }
}

async function systemctlOrThrow(args: readonly string[]): Promise<CommandOutput> {
  const result = await systemctl(args);
  if (result.code !== 0) {
    const why = result.found ? result.stderr.trim() || `exit code ${result.code}` : 'systemctl not found';
    throw new Error(`systemctl --user ${args.join(' ')}: ${why}`);
  }
  return result;
}

async function systemdMainPid(): Promise<number | undefined> {
  const shown = await systemctl(['show', '-p', 'MainPID', SYSTEMD_UNIT]);
  const pid = Number(/^MainPID=(\d+)$/m.exec(shown.stdout)?.[1]);
  return pid > 0 ? pid : undefined;
}

function logTail(stateDir: string): string {
  try {
    const text = readFileSync(join(stateDir, 'logs', 'supervisor.log'), 'utf8').trimEnd();
    return text === '' ? '' : `; supervisor.log ends:\n${text.split('\n').slice(-15).join('\n')}`;
  } catch {
    return '';
  }
}

async function waitForSupervisor(stateDir: string, accept: (pid: number) => boolean, gone: () => string | undefined) {
  let found: number | undefined;
  let why: string | undefined;
  await waitFor(() => {
    const running = runningSupervisor(stateDir);
    if (running && accept(running.pid)) found = running.pid;
    why = gone();
    return found !== undefined || why !== undefined;
  }, SUPERVISOR_START_TIMEOUT_MS);
  if (found !== undefined) return found;
  throw new Error(
    `${why ?? `the supervisor did not write its pid file within ${SUPERVISOR_START_TIMEOUT_MS / 1000} s`}${logTail(stateDir)}`,
  );
}

async function startWithSystemd(stateDir: string, supervisor: string, previous: number | undefined): Promise<number> {
  const text = systemdUnit({ node: process.execPath, supervisor, stateDir });
  await mkdir(dirname(unitPath()), { recursive: true });
  await writeAtomic(unitPath(), text);
  await systemctlOrThrow(['daemon-reload']);
  await systemctlOrThrow(['enable', SYSTEMD_UNIT]);
  // restart, not `enable --now`: that leaves a unit running that still runs an older supervisor or node.
  await systemctlOrThrow(['restart', SYSTEMD_UNIT]);
  return waitForSupervisor(
    stateDir,
    (pid) => pid !== previous,
    () => undefined,
  );
}

async function startDetached(stateDir: string, supervisor: string): Promise<number> {
  await mkdir(join(stateDir, 'logs'), { recursive: true });
  const log = openSync(join(stateDir, 'logs', 'supervisor.log'), 'a');
  let child;
  try {
    // Its own session (detached) so the end of the ssh session does not hang it up; output to the log, not to
    // the ssh channel, which would otherwise stay open until the supervisor ends.
    child = spawn(process.execPath, [supervisor, stateDir], {
      detached: true,
      stdio: ['ignore', log, log],
      cwd: os.homedir(),
      env: { ...process.env, [STATE_ENV]: stateDir },
    });
  } finally {
    closeSync(log);
  }
  child.unref();
  let gone: string | undefined;
  child.once('exit', (code, signalName) => (gone = `the supervisor exited at once (${signalName ?? `code ${code}`})`));
  child.once('error', (error) => (gone = `the supervisor did not start: ${error.message}`));
  const pid = child.pid;
  return waitForSupervisor(
    stateDir,
    (found) => found === pid,
    () => gone,
  );
}

export async function start(argument: StartArgument): Promise<StartResult> {
  const stateDir = absolute(argument.stateDir);
  const supervisor = absolute(argument.supervisor);
  const changed = await inStep('workers', async () => {
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    const path = join(stateDir, 'workers.json');
    const content = argument.revision === undefined ? {} : { revision: argument.revision };
    const text = `${JSON.stringify({ ...content, workers: argument.workers }, null, 2)}\n`;
    const before = await readFile(path, 'utf8').catch(() => undefined);
    if (before === text) return false;
    await writeAtomic(path, text);
    return true;
  });
  return inStep('supervisor', async (): Promise<StartResult> => {
    const managed = await unitManages(stateDir);
    const running = runningSupervisor(stateDir);
    if (running?.script === supervisor) {
      if (changed) process.kill(running.pid, 'SIGHUP');
      const mode = managed && (await systemdMainPid()) === running.pid ? 'systemd' : 'supervisor';
      return { ok: true, mode, pid: running.pid, changed };
    }
    // Another supervisor runs for stateDir (an older bundle): replaced, so that exactly one runs.
    const useSystemd = await systemdUsable();
    if (running && !(useSystemd && managed)) await terminate([running.pid], SUPERVISOR_STOP_GRACE_MS);
    if (useSystemd) {
      return { ok: true, mode: 'systemd', pid: await startWithSystemd(stateDir, supervisor, running?.pid), changed };
    }
    return { ok: true, mode: 'supervisor', pid: await startDetached(stateDir, supervisor), changed };
  });
}

/** Where `sweep hosts up` puts each worker bundle, under the state directory. */
const BUNDLES_DIR = 'bundles';

function bundleOf(argv: unknown, stateDir: string): string | undefined {
  if (!Array.isArray(argv)) return undefined;
  const prefix = `${join(stateDir, BUNDLES_DIR)}/`;
  for (const arg of argv) {
    if (typeof arg === 'string' && arg.startsWith(prefix)) return arg.slice(prefix.length).split('/')[0] || undefined;
  }
  return undefined;
}

/** Workers as status.json (or workers.json, before any supervisor wrote one) lists them; `running` is checked later. */
function parseStatusFile(value: unknown, stateDir: string): WorkerStatus[] {
  if (!isRecord(value) || !Array.isArray(value.workers)) return [];
  return value.workers.filter(isRecord).map((worker): WorkerStatus => {
    const lastExit = isRecord(worker.lastExit) ? (worker.lastExit as unknown as WorkerExit) : undefined;
    const bundle = bundleOf(worker.argv, stateDir);
    return {
      name: String(worker.name),
      ...(typeof worker.pid === 'number' ? { pid: worker.pid } : {}),
      running: false,
      restarts: typeof worker.restarts === 'number' ? worker.restarts : 0,
      ...(typeof worker.startedAt === 'string' ? { startedAt: worker.startedAt } : {}),
      ...(lastExit ? { lastExit } : {}),
      ...(bundle ? { bundle } : {}),
    };
  });
}

function carriesMarker(pid: number, stateDir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`${STATE_ENV}=${stateDir}`);
  } catch {
    return false;
  }
}

export async function status(argument: StatusArgument): Promise<StatusResult> {
  const stateDir = absolute(argument.stateDir);
  return inStep('read', async () => {
    const running = runningSupervisor(stateDir);
    const mode: SupervisorMode | undefined = running
      ? (await unitManages(stateDir)) && (await systemdMainPid()) === running.pid
        ? 'systemd'
        : 'supervisor'
      : undefined;
    const read = (name: string) =>
      readFile(join(stateDir, name), 'utf8').then(JSON.parse, () => null) as Promise<unknown>;
    const recorded = parseStatusFile(await read('status.json'), stateDir);
    const names = new Set(recorded.map((worker) => worker.name));
    const pending = parseStatusFile(await read('workers.json'), stateDir).filter((worker) => !names.has(worker.name));
    // The status file is only as fresh as its supervisor: each pid is checked, and must still carry the marker.
    const workers = [...recorded, ...pending].map(({ pid, ...worker }): WorkerStatus => {
      const alive = pid !== undefined && isAlive(pid) && carriesMarker(pid, stateDir);
      return alive ? { ...worker, pid, running: true } : { ...worker, running: false };
    });
    return {
      ok: true,
      supervisor: running ? { running: true, pid: running.pid, ...(mode ? { mode } : {}) } : { running: false },
      workers,
    };
  });
}

function checkRemovable(path: string): string {
  const home = resolve(os.homedir());
  if (path === sep || path === home || home.startsWith(path.endsWith(sep) ? path : `${path}${sep}`)) {
    throw new AgentError('validate', `refusing to remove ${path}: it is / or the home directory or above it`);
  }
  return path;
}

export async function stop(argument: StopArgument): Promise<StopResult> {
  const stateDir = checkRemovable(absolute(argument.stateDir));
  const purge = argument.purge.map((path) => checkRemovable(absolute(path)));
  await inStep('systemd', async () => {
    if (!(await unitManages(stateDir))) return;
    // Carry on when the user's manager is gone: the supervisor is then stopped by its pid below.
    await systemctl(['disable', '--now', SYSTEMD_UNIT]);
    await rm(unitPath(), { force: true });
    await systemctl(['daemon-reload']);
  });
  await inStep('supervisor', async () => {
    const running = runningSupervisor(stateDir);
    if (running) await terminate([running.pid], SUPERVISOR_STOP_GRACE_MS);
  });
  // Belt and braces: whatever still carries the marker (a worker the supervisor lost, a trial that left its
  // process group) would hold a GPU that `down` says is free. A few rounds, for processes that fork meanwhile.
  const killed = await inStep('sweep', async () => {
    const all: number[] = [];
    for (let round = 0; round < 3; round += 1) {
      const pids = markedProcesses(stateDir);
      if (pids.length === 0) break;
      all.push(...pids.filter((pid) => !all.includes(pid)));
      await terminate(pids, LEFTOVER_STOP_GRACE_MS);
    }
    return all;
  });
  await inStep('remove', () => rm(stateDir, { recursive: true, force: true }));
  await inStep('purge', async () => {
    for (const path of purge) await rm(path, { recursive: true, force: true });
  });
  return { ok: true, killed };
}

// ---------------------------------------------------------------------------------------------------------------
// Entry point

async function runParsed(command: string | undefined, json: string | undefined, stdout: Writable): Promise<object> {
  if (command === undefined || !(AGENT_COMMANDS as readonly string[]).includes(command)) {
    throw new AgentError(
      'usage',
      `unknown command ${JSON.stringify(command ?? '')} (expected one of ${AGENT_COMMANDS.join(', ')})`,
    );
  }
  const argument = Argument.parse(json);
  switch (command as AgentCommand) {
    case 'probe': {
      const parsed = { temporalAddress: argument.string('temporalAddress'), dir: argument.string('dir', '~/sweep') };
      argument.end();
      return probe(parsed);
    }
    case 'hashes': {
      const parsed = { dir: argument.string('dir'), paths: argument.paths('paths') };
      argument.end();
      return hashes(parsed);
    }
    case 'unpack': {
      const parsed = {
        archive: argument.string('archive'),
        dir: argument.string('dir'),
        remove: argument.paths('remove'),
        record: argument.paths('record', true),
        noOverwrite: argument.boolean('noOverwrite', false),
      };
      argument.end();
      return unpack(parsed);
    }
    case 'pack': {
      const parsed = { dir: argument.string('dir'), paths: argument.paths('paths', true) };
      argument.end();
      await inStep('pack', () => pack(parsed, stdout));
      return {};
    }
    case 'start': {
      const parsed = {
        stateDir: argument.string('stateDir'),
        supervisor: argument.string('supervisor'),
        revision: argument.optionalString('revision'),
        workers: argument.workers('workers'),
      };
      argument.end();
      return start(parsed);
    }
    case 'status': {
      const parsed = { stateDir: argument.string('stateDir') };
      argument.end();
      return status(parsed);
    }
    case 'stop': {
      const parsed = { stateDir: argument.string('stateDir'), purge: argument.strings('purge') };
      argument.end();
      return stop(parsed);
    }
  }
}

/**
 * Runs one command as the CLI invokes it (`args` = [command, json]) and returns the exit code. Its result is one
 * JSON line on stdout; `pack` writes the archive there instead, and its failure line goes to stderr.
 */
export async function runAgentCommand(args: readonly string[], stdout: Writable, stderr: Writable): Promise<number> {
  const [command, json] = args;
  try {
    const result = await runParsed(command, json, stdout);
    if (command !== 'pack') stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } catch (error) {
    const failure: AgentFailure = {
      ok: false,
      error: errorMessage(error),
      step: error instanceof AgentError ? error.step : (command ?? 'usage'),
    };
    (command === 'pack' ? stderr : stdout).write(`${JSON.stringify(failure)}\n`);
    return 1;
  }
}

// Piped as `node --input-type=module - <command> <json>`, argv[1] is '-'. Imported (by the CLI for the archive
// code, by tests) it is a script path, and the module must only define things.
if (process.argv[1] === '-') {
  process.exitCode = await runAgentCommand(process.argv.slice(2), process.stdout, process.stderr);
}
