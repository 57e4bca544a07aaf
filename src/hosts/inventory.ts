// The hosts a lab's workers run on: `hosts.yml`, or ml-scheduler's machine files as they are, with `~/.ssh/config`
// aliases resolved. Validated like a spec: every problem at once, each located (`hosts.yml:7:11 hosts[1].port:
// expected a port number 1-65535, got "seventy"`), nothing half accepted.
import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { parseAt, parseEachKey, Problems } from '../sweep-spec/diagnostics.js';
import { loadYaml } from '../sweep-spec/load-yaml.js';
import { describeValue, formatProblem } from '../sweep-spec/problems.js';
import { shortName, size } from '../sweep-spec/spec-schema.js';
import { isMapping } from '../sweep-spec/yaml-values.js';
import { DEFAULT_POOL } from '../temporal/names.js';
import { workerClassSchema } from '../sweep-spec/spec-schema.js';
import { sshHostConfig } from './ssh-config.js';
import type { SshTarget } from './ssh-session.js';

/** A host as `sweep hosts` reaches it (the ssh fields, see SshTarget) and runs workers on it. */
export interface InventoryHost extends SshTarget {
  /** `all`, or the GPU indices to use. */
  readonly gpus: 'all' | readonly number[];
  readonly maxGpus?: number;
  /** Only GPUs with at least this much memory free when the workers start (decimal MB). */
  readonly minGpuMemoryMb?: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly pool: string;
  /** The project's directory on the host. */
  readonly remoteDir: string;
  /** Node on the host: `node` on its PATH unless the inventory names one. */
  readonly node: string;
  /** CPU trial slots for the host's worker (default: none on a GPU host, one per core on a CPU-only host). */
  readonly cpuSlots?: number;
  /** The local project directory synced to remoteDir, with its include and exclude rules. */
  readonly projectDir: string;
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  /** The Temporal address as the host reaches it, where it differs from the CLI's. */
  readonly temporalAddress?: string;
  /** `module:Class`: its workers run this Python worker class (`sweep worker --python`). */
  readonly python?: string;
  /** The class's `__init__` data: a JSON file in the project, as a path relative to it (`--init`). */
  readonly init?: string;
  /** The file it came from. */
  readonly file: string;
}

const DEFAULT_REMOTE_DIR = '~/sweep';
const DEFAULT_SSH_PORT = 22;

const port = z.union([z.number(), z.string()]).transform((value, context) => {
  const number = typeof value === 'number' ? value : /^\d+$/.test(value) ? Number(value) : NaN;
  if (Number.isInteger(number) && number >= 1 && number <= 65535) return number;
  context.addIssue({ code: 'custom', message: `expected a port number 1-65535, got ${describeValue(value)}` });
  return z.NEVER;
});

const hostPort = z.string().regex(/^[^\s:]+:\d+$/, 'expected host:port, e.g. 10.0.0.1:7233');

const hostSchema = z.strictObject({
  name: shortName.optional(),
  address: z.string().min(1),
  port: port.optional(),
  user: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
  agent: z.boolean().optional(),
  gpus: z.union([z.literal('all'), z.array(z.int().min(0))]).optional(),
  max_gpus: z.int().min(1).optional(),
  min_gpu_memory: size.optional(),
  labels: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
  pool: shortName.optional(),
  remote_dir: z.string().min(1).optional(),
  node: z.string().min(1).optional(),
  cpu_slots: z.int().min(0).optional(),
  temporal_address: hostPort.optional(),
  python: workerClassSchema.optional(),
  init: z.string().min(1).optional(),
});

const inventorySchema = z.strictObject({
  /** Defaults for every host. */
  user: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
  pool: shortName.optional(),
  remote_dir: z.string().min(1).optional(),
  node: z.string().min(1).optional(),
  temporal_address: hostPort.optional(),
  python: workerClassSchema.optional(),
  init: z.string().min(1).optional(),
  /** What `up` and `sync` copy: this directory (relative to the inventory file), less the excludes. */
  project_dir: z.string().min(1).optional(),
  include: z.array(z.string().min(1)).optional(),
  exclude: z.array(z.string().min(1)).optional(),
  hosts: z.array(z.unknown()).min(1),
});

/** ml-scheduler's machine file, four keys. */
const machineSchema = z.strictObject({
  username: z.string().min(1),
  ip: z.string().min(1),
  port: port.optional(),
  ssh_key_path: z.string().min(1).optional(),
});

export interface InventoryOptions {
  readonly home?: string;
  /** `~/.ssh/config`'s text; read from `home` when not given. */
  readonly sshConfig?: string;
  readonly localUser?: string;
  /** Where an ml-scheduler machine file's project is (default: the current directory). */
  readonly cwd?: string;
}

/** As given, with `.yaml` added, then under `~/.local/var/` (where ml-scheduler looked). */
function findFile(path: string, home: string): string | undefined {
  const candidates = [
    path,
    `${path}.yaml`,
    join(home, '.local', 'var', path),
    join(home, '.local', 'var', `${path}.yaml`),
  ];
  return candidates.find((candidate) => existsSync(candidate));
}

function expandHome(path: string, home: string): string {
  return path === '~' ? home : path.startsWith('~/') ? join(home, path.slice(2)) : path;
}

type HostFields = z.output<typeof hostSchema>;

/** One file's hosts (inventory or machine file) as host fields, its problems added with `file`'s locations. */
function readHostFields(
  file: string,
  text: string,
  problems: string[],
): { fields: HostFields; defaults: Partial<z.output<typeof inventorySchema>> }[] {
  const loaded = loadYaml(text);
  if (!loaded.ok) {
    problems.push(formatProblem(file, loaded.problem));
    return [];
  }
  const root = loaded.document.value;
  const found = new Problems(loaded.document);
  const result: { fields: HostFields; defaults: Partial<z.output<typeof inventorySchema>> }[] = [];
  if (!isMapping(root)) {
    found.add(
      [],
      `expected a hosts: list, or an ml-scheduler machine file (username, ip, port, ssh_key_path), got ${describeValue(root)}`,
    );
  } else if (!('hosts' in root) && ('ip' in root || 'username' in root)) {
    const machine = parseAt(machineSchema, root, [], found);
    if (machine) {
      result.push({
        fields: {
          address: machine.ip,
          user: machine.username,
          ...(machine.port === undefined ? {} : { port: machine.port }),
          ...(machine.ssh_key_path === undefined ? {} : { key: machine.ssh_key_path }),
        },
        defaults: {},
      });
    }
  } else {
    const inventory = parseEachKey(inventorySchema, root, found);
    (inventory.hosts ?? []).forEach((raw, index) => {
      const host = parseAt(hostSchema, raw, ['hosts', index], found);
      if (!host) return;
      if (host.max_gpus !== undefined && Array.isArray(host.gpus)) {
        found.add(['hosts', index, 'max_gpus'], 'goes with gpus: all (a list already says which GPUs)', { key: true });
        return;
      }
      if ((host.python ?? inventory.python) && (host.cpu_slots ?? 0) > 1) {
        found.add(
          ['hosts', index, 'cpu_slots'],
          'a worker class runs one trial at a time in its process: cpu_slots may be 0 or 1 with python:',
        );
        return;
      }
      if ((host.init ?? inventory.init) && !(host.python ?? inventory.python)) {
        found.add(
          ['hosts', index, 'init'],
          "the worker class's __init__ data: it needs python: module:Class beside it",
          {
            key: true,
          },
        );
        return;
      }
      result.push({ fields: host, defaults: inventory });
    });
  }
  problems.push(...found.sorted().map((problem) => formatProblem(file, problem)));
  return result;
}

/** The hosts of every file given, resolved; throws a ConfigError listing every problem of every file. */
export function loadInventory(paths: readonly string[], options: InventoryOptions = {}): InventoryHost[] {
  const home = options.home ?? homedir();
  const sshConfigPath = join(home, '.ssh', 'config');
  const sshConfig = options.sshConfig ?? (existsSync(sshConfigPath) ? readFileSync(sshConfigPath, 'utf8') : '');
  const localUser = options.localUser ?? userInfo().username;
  const cwd = options.cwd ?? process.cwd();
  const problems: string[] = [];
  const hosts: InventoryHost[] = [];
  for (const path of paths) {
    const file = findFile(path, home);
    if (!file) {
      problems.push(`${path}: no such file (also looked for ${path}.yaml and under ${join(home, '.local', 'var')})`);
      continue;
    }
    for (const { fields, defaults } of readHostFields(file, readFileSync(file, 'utf8'), problems)) {
      const ssh = sshHostConfig(sshConfig, fields.address, home);
      const key = fields.key ?? defaults.key;
      const user = fields.user ?? defaults.user ?? ssh.user ?? localUser;
      const isMachineFile = defaults.hosts === undefined;
      const temporalAddress = fields.temporal_address ?? defaults.temporal_address;
      hosts.push({
        name: fields.name ?? fields.address,
        address: ssh.hostName ?? fields.address,
        port: fields.port ?? ssh.port ?? DEFAULT_SSH_PORT,
        user,
        keyFiles: key ? [expandHome(key, home)] : ssh.identityFiles,
        agent: fields.agent ?? key === undefined,
        ...(ssh.proxyJump ? { proxyJump: ssh.proxyJump } : {}),
        gpus: fields.gpus ?? 'all',
        ...(fields.max_gpus === undefined ? {} : { maxGpus: fields.max_gpus }),
        ...(fields.min_gpu_memory === undefined ? {} : { minGpuMemoryMb: fields.min_gpu_memory }),
        labels: Object.fromEntries(Object.entries(fields.labels ?? {}).map(([label, value]) => [label, String(value)])),
        pool: fields.pool ?? defaults.pool ?? DEFAULT_POOL,
        remoteDir: fields.remote_dir ?? defaults.remote_dir ?? DEFAULT_REMOTE_DIR,
        node: fields.node ?? defaults.node ?? 'node',
        ...(fields.cpu_slots === undefined ? {} : { cpuSlots: fields.cpu_slots }),
        // ml-scheduler's machine files live anywhere (~/.local/var/); their project is where sweep runs.
        projectDir: resolve(isMachineFile ? cwd : dirname(file), defaults.project_dir ?? '.'),
        include: defaults.include ?? [],
        exclude: defaults.exclude ?? [],
        ...(temporalAddress ? { temporalAddress } : {}),
        ...((fields.python ?? defaults.python) ? { python: fields.python ?? defaults.python } : {}),
        ...((fields.init ?? defaults.init) ? { init: fields.init ?? defaults.init } : {}),
        file,
      });
    }
  }
  const seen = new Map<string, InventoryHost>();
  for (const host of hosts) {
    const earlier = seen.get(host.name);
    if (earlier)
      problems.push(`${host.file}: host "${host.name}" is also in ${earlier.file}: give one of them a name:`);
    seen.set(host.name, host);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return hosts;
}
