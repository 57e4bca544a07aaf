import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, ExitError } from '../errors.js';

/** The committed Go module that pins the Temporal CLI; its go.sum verifies every dependency. */
export const TEMPORAL_MODULE_DIR = fileURLToPath(new URL('../../tools/temporal/', import.meta.url));
const CLI_MODULE = 'github.com/temporalio/cli';
const MIN_GO_MINOR = 25;

export interface TemporalPin {
  /** Version as the binary reports it, without the leading `v`. */
  readonly version: string;
  /** Short hash of go.mod + go.sum: any change to the pin gets a fresh cache entry. */
  readonly pinHash: string;
}

export interface ResolvedBinary {
  readonly path: string;
  readonly source: 'SWEEP_TEMPORAL_BIN' | 'cache' | 'PATH' | 'built';
  readonly version: string;
}

export function readTemporalPin(moduleDir = TEMPORAL_MODULE_DIR): TemporalPin {
  const goMod = readFileSync(join(moduleDir, 'go.mod'), 'utf8');
  const goSum = readFileSync(join(moduleDir, 'go.sum'), 'utf8');
  const match = new RegExp(`^require ${CLI_MODULE.replaceAll('.', '\\.')} v(\\S+)$`, 'm').exec(goMod);
  if (!match?.[1]) throw new Error(`${join(moduleDir, 'go.mod')}: no "require ${CLI_MODULE} vX.Y.Z" line`);
  const pinHash = createHash('sha256').update(goMod).update(goSum).digest('hex').slice(0, 12);
  return { version: match[1], pinHash };
}

/** `~/.cache/sweep/temporal/<version>-<pin hash>/temporal`, honouring XDG_CACHE_HOME. */
export function cachedBinaryPath(pin: TemporalPin, env: NodeJS.ProcessEnv = process.env): string {
  const cacheHome = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cacheHome, 'sweep', 'temporal', `${pin.version}-${pin.pinHash}`, 'temporal');
}

/** `temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)` → `1.5.1`; undefined when it does not run. */
export function binaryVersion(path: string): string | undefined {
  const result = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  if (result.status !== 0) return undefined;
  return /^temporal version (\S+)/.exec(result.stdout)?.[1];
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/**
 * Finds the Temporal CLI, in this order: SWEEP_TEMPORAL_BIN, the build cache, a `temporal` on PATH of the
 * pinned version, and finally a build from the pinned Go module (minutes, once per pin).
 */
export async function resolveTemporalBinary(
  options: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {},
): Promise<ResolvedBinary> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const pin = readTemporalPin();

  const explicit = env.SWEEP_TEMPORAL_BIN;
  if (explicit) {
    const version = isExecutable(explicit) ? binaryVersion(explicit) : undefined;
    if (!version) throw new ConfigError([`SWEEP_TEMPORAL_BIN=${explicit}: not an executable Temporal CLI`]);
    if (version !== pin.version)
      log(`warning: SWEEP_TEMPORAL_BIN is Temporal CLI ${version}; Sweep pins ${pin.version}`);
    return { path: explicit, source: 'SWEEP_TEMPORAL_BIN', version };
  }

  const cached = cachedBinaryPath(pin, env);
  if (isExecutable(cached)) return { path: cached, source: 'cache', version: pin.version };

  const onPath = findOnPath('temporal', env);
  if (onPath && binaryVersion(onPath) === pin.version) return { path: onPath, source: 'PATH', version: pin.version };

  await buildTemporalBinary(pin, cached, env, log);
  return { path: cached, source: 'built', version: pin.version };
}

function checkGo(env: NodeJS.ProcessEnv): void {
  const result = spawnSync('go', ['version'], { encoding: 'utf8', env });
  const hint =
    `Install Go 1.${MIN_GO_MINOR} or newer (https://go.dev/dl/, or your package manager) so Sweep can build the ` +
    `Temporal CLI once, or set SWEEP_TEMPORAL_BIN to an existing 'temporal' binary.`;
  if (result.error || result.status !== 0) throw new ConfigError([`The Go toolchain was not found. ${hint}`]);
  const minor = /go1\.(\d+)/.exec(result.stdout)?.[1];
  if (minor === undefined || Number(minor) < MIN_GO_MINOR) {
    throw new ConfigError([`${result.stdout.trim()} is too old to build the Temporal CLI. ${hint}`]);
  }
}

async function buildTemporalBinary(
  pin: TemporalPin,
  target: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<void> {
  checkGo(env);
  const dir = join(target, '..');
  mkdirSync(dir, { recursive: true });
  // Build beside the target and rename: concurrent builders never see a half-written binary.
  const partial = `${target}.partial-${process.pid}`;
  const started = Date.now();
  log(`Building the Temporal CLI ${pin.version} from the pinned Go module (once per pin; a few minutes)…`);
  const args = [
    'build',
    '-mod=readonly',
    '-trimpath',
    '-ldflags',
    `-s -w -X ${CLI_MODULE}/temporalcli.Version=${pin.version}`,
    '-o',
    partial,
    `${CLI_MODULE}/cmd/temporal`,
  ];
  const output: string[] = [];
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    const child = spawn('go', args, {
      cwd: TEMPORAL_MODULE_DIR,
      env: { ...env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
    child.on('error', (error) => resolve({ code: null, signal: null, error }));
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  if (exit.code !== 0 || !existsSync(partial)) {
    rmSync(partial, { force: true });
    throw new ExitError(goBuildFailure(pin, exit, output.join('')));
  }
  renameSync(partial, target);
  log(`Built ${target} in ${((Date.now() - started) / 1000).toFixed(0)} s.`);
}

/** Lines of go's output kept in the error: enough for the first compile error or the failed download. */
const GO_OUTPUT_TAIL_LINES = 12;

/**
 * `tools/temporal: go build of the Temporal CLI 1.5.1 failed (exit 1): …` and the tail of go's output: a failed
 * build is the machine's problem (disk, network, toolchain), never a bug, so it is one located line and the
 * evidence. 137 is the usual out-of-memory kill; the build needs about 1.5 GB.
 */
export function goBuildFailure(
  pin: TemporalPin,
  exit: { readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly error?: Error },
  output: string,
): string {
  const how = exit.error
    ? `could not run go (${exit.error.message})`
    : exit.signal
      ? `was killed by ${exit.signal}${exit.signal === 'SIGKILL' ? ' (out of memory? it needs about 1.5 GB)' : ''}`
      : `failed (exit ${exit.code}${exit.code === 137 ? ', killed: out of memory? it needs about 1.5 GB' : ''})`;
  const tail = output
    .trim()
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(-GO_OUTPUT_TAIL_LINES)
    .map((line) => `  ${line}`);
  const inside = relative(process.cwd(), TEMPORAL_MODULE_DIR);
  const where = inside && !inside.startsWith('..') ? inside : TEMPORAL_MODULE_DIR;
  return [
    `${where}: go build of the Temporal CLI ${pin.version} ${how}; ` +
      'or set SWEEP_TEMPORAL_BIN to an existing temporal binary',
    ...tail,
  ].join('\n');
}
