// What a host needs to run `sweep worker` with nothing but Node: the built code, the production node_modules for
// the host's platform and architecture (one Temporal core binary, not five), the Python helper. Its id is a hash
// of every file, so a host that already holds this bundle is sent nothing.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export interface BundleTarget {
  /** `process.platform` on the host. */
  readonly platform: string;
  /** `process.arch` on the host. */
  readonly arch: string;
}

export interface BundleFile {
  /** Posix path inside the bundle, also its path under the project root. */
  readonly path: string;
  readonly mode: number;
  readonly size: number;
}

export interface WorkerBundle {
  /** 16 hex digits of the hash of every path, mode and content (and the target). */
  readonly id: string;
  readonly root: string;
  readonly files: readonly BundleFile[];
  readonly bytes: number;
}

/** Where the prebuilt Temporal core lives for each platform (as @temporalio/core-bridge names its releases). */
const CORE_TARGETS: Readonly<Record<string, string>> = {
  'linux-x64': 'x86_64-unknown-linux-gnu',
  'linux-arm64': 'aarch64-unknown-linux-gnu',
  'darwin-x64': 'x86_64-apple-darwin',
  'darwin-arm64': 'aarch64-apple-darwin',
  'win32-x64': 'x86_64-pc-windows-msvc',
};
const CORE_BRIDGE = 'node_modules/@temporalio/core-bridge';
/** The core bridge's Rust sources and other platforms' binaries: 120 MB nobody loads at run time. */
const CORE_BRIDGE_SOURCES = ['sdk-core', 'src', 'bridge-macros', 'scripts', 'Cargo.lock', 'Cargo.toml'];
/** Never loaded at run time: type declarations, TypeScript sources shipped for source maps, the maps, docs. */
const UNUSED_FILE = /(\.ts|\.map|\.md|\.markdown)$/i;

const lockSchema = z.object({
  packages: z.record(
    z.string(),
    z.object({
      dev: z.boolean().optional(),
      devOptional: z.boolean().optional(),
      optional: z.boolean().optional(),
      os: z.array(z.string()).optional(),
      cpu: z.array(z.string()).optional(),
      link: z.boolean().optional(),
    }),
  ),
});

function matchesList(list: readonly string[] | undefined, value: string): boolean {
  if (!list) return true;
  const denied = list.filter((entry) => entry.startsWith('!')).map((entry) => entry.slice(1));
  const allowed = list.filter((entry) => !entry.startsWith('!'));
  return !denied.includes(value) && (allowed.length === 0 || allowed.includes(value));
}

/** Every file under `dir` (posix paths relative to `root`), not descending into `skip` directories. */
function walk(root: string, dir: string, skip: (path: string) => boolean): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (skip(path)) continue;
    if (entry.isDirectory()) found.push(...walk(root, path, skip));
    else if (entry.isFile() && !UNUSED_FILE.test(entry.name)) found.push(path);
  }
  return found;
}

/** The production packages' directories for `target`, from package-lock.json. */
function productionPackages(root: string, target: BundleTarget): string[] {
  const lock = lockSchema.parse(JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')));
  const found: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.dev || entry.devOptional || entry.link) continue;
    if (!matchesList(entry.os, target.platform) || !matchesList(entry.cpu, target.arch)) continue;
    if (!existsSync(join(root, path))) {
      // An optional native package for another platform is absent here; the code that would load it is not run.
      if (entry.optional) continue;
      throw new Error(`${path} is missing: run npm install in the Sweep checkout`);
    }
    found.push(path);
  }
  return found;
}

export function coreTarget(target: BundleTarget): string {
  const core = CORE_TARGETS[`${target.platform}-${target.arch}`];
  if (!core) {
    throw new Error(
      `Sweep's worker has no Temporal core for ${target.platform}-${target.arch} ` +
        `(it runs on ${Object.keys(CORE_TARGETS).join(', ')})`,
    );
  }
  return core;
}

const cachedHashSchema = z.object({ size: z.number(), mtimeMs: z.number(), sha256: z.string() });
type CachedHash = z.infer<typeof cachedHashSchema>;
/** Each file's hash by size and mtime: reading 90 MB on every `hosts up` took 3.6 s of a no-op run. */
const HASH_CACHE = 'node_modules/.cache/sweep-bundle-hashes.json';

function readHashCache(root: string): Record<string, CachedHash> {
  try {
    return z.record(z.string(), cachedHashSchema).parse(JSON.parse(readFileSync(join(root, HASH_CACHE), 'utf8')));
  } catch {
    return {};
  }
}

function writeHashCache(root: string, hashes: Record<string, CachedHash>): void {
  try {
    mkdirSync(dirname(join(root, HASH_CACHE)), { recursive: true });
    const partial = `${join(root, HASH_CACHE)}.${process.pid}`;
    writeFileSync(partial, JSON.stringify(hashes));
    renameSync(partial, join(root, HASH_CACHE));
  } catch {
    // A read-only checkout hashes every time; nothing else changes.
  }
}

/** The bundle for `target`, built from the Sweep checkout at `root` (which must be built: dist/ present). */
export function workerBundle(root: string, target: BundleTarget): WorkerBundle {
  const core = coreTarget(target);
  if (!existsSync(join(root, CORE_BRIDGE, 'releases', core, 'index.node'))) {
    throw new Error(`${CORE_BRIDGE}/releases/${core}/index.node is missing: reinstall @temporalio/core-bridge`);
  }
  if (!existsSync(join(root, 'dist', 'cli', 'index.js'))) throw new Error('dist/ is missing: run npm run build');
  const packages = productionPackages(root, target);
  const skip = (path: string) => {
    // Nested node_modules are packages of their own, listed (or not) in the lock file.
    if (/\/node_modules$/.test(path)) return true;
    // Python's bytecode caches of our own modules are written by whoever ran them: not part of the bundle.
    if (/(^|\/)__pycache__$/.test(path)) return true;
    if (path.startsWith(`${CORE_BRIDGE}/`)) {
      const inside = path.slice(CORE_BRIDGE.length + 1);
      if (CORE_BRIDGE_SOURCES.includes(inside)) return true;
      if (inside.startsWith('releases/') && inside.split('/').length === 2) return inside !== `releases/${core}`;
    }
    return false;
  };
  const paths = [
    'package.json',
    'bin/sweep.js',
    'bin/worker.js',
    ...walk(root, 'dist', skip),
    ...walk(root, 'python', skip),
    ...packages.flatMap((dir) => walk(root, dir, skip)),
  ].sort();
  const hash = createHash('sha256').update(`${target.platform}-${target.arch}\n`);
  const known = readHashCache(root);
  const hashes: Record<string, CachedHash> = { ...known };
  const files = paths.map((path) => {
    const absolute = join(root, ...path.split('/'));
    const stat = statSync(absolute);
    const mode = stat.mode & 0o777;
    const cached = known[path];
    const sha256 =
      cached?.size === stat.size && cached.mtimeMs === stat.mtimeMs
        ? cached.sha256
        : createHash('sha256').update(readFileSync(absolute)).digest('hex');
    hashes[path] = { size: stat.size, mtimeMs: stat.mtimeMs, sha256 };
    hash.update(`${path}\0${mode}\0${sha256}\n`);
    return { path, mode, size: stat.size };
  });
  writeHashCache(root, hashes);
  return {
    id: hash.digest('hex').slice(0, 16),
    root,
    files,
    bytes: files.reduce((total, file) => total + file.size, 0),
  };
}

/** The Sweep checkout this code runs from (dist/hosts/ or src/hosts/ → the root). */
export function sweepRoot(): string {
  return fileURLToPath(new URL('../..', import.meta.url));
}
