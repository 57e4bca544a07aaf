// The local half of the host agent: runs one agent command on a host over ssh, the agent's compiled code piped
// to `node -` so nothing is installed for it, and checks its one-line JSON answer at the boundary.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { z } from 'zod';
import type { AgentCommand } from './remote/host-agent.js';
import { HostStepError, type SshSession } from './ssh-session.js';
import { sweepRoot } from './worker-bundle.js';

/** The oldest Node the worker bundle runs on (package.json engines). */
const MINIMUM_NODE = [20, 9] as const;

let agentSource: Buffer | undefined;
function agentCode(): Buffer {
  agentSource ??= readFileSync(join(sweepRoot(), 'dist', 'hosts', 'remote', 'host-agent.js'));
  return agentSource;
}

const failureSchema = z.object({ ok: z.literal(false), error: z.string(), step: z.string() });

const commandOutputSchema = z.object({
  found: z.boolean(),
  code: z.number().nullable(),
  stdout: z.string(),
  stderr: z.string(),
  timedOut: z.literal(true).optional(),
});

export const probeSchema = z.object({
  ok: z.literal(true),
  hostname: z.string(),
  home: z.string(),
  platform: z.string(),
  arch: z.string(),
  osRelease: z.string(),
  distro: z.string().nullable(),
  node: z.string(),
  cpus: z.number(),
  memory: z.object({ totalMb: z.number(), availableMb: z.number() }),
  disk: z.object({ path: z.string(), freeMb: z.number() }),
  nvidiaSmi: commandOutputSchema,
  temporal: z.object({ reachable: z.boolean(), ms: z.number().optional(), error: z.string().optional() }),
  systemd: z.boolean(),
});
export type HostProbe = z.infer<typeof probeSchema>;

export const hashesSchema = z.object({
  ok: z.literal(true),
  hashes: z.record(z.string(), z.string().nullable()),
  synced: z.array(z.string()),
});

export const unpackSchema = z.object({
  ok: z.literal(true),
  written: z.number(),
  skipped: z.number(),
  removed: z.number(),
});

export const startSchema = z.object({
  ok: z.literal(true),
  mode: z.enum(['systemd', 'supervisor']),
  pid: z.number(),
  changed: z.boolean(),
});

const workerExitSchema = z.object({
  code: z.number().nullable(),
  signal: z.string().nullable(),
  at: z.string(),
  error: z.string().optional(),
});

export const statusSchema = z.object({
  ok: z.literal(true),
  supervisor: z.object({
    running: z.boolean(),
    pid: z.number().optional(),
    mode: z.enum(['systemd', 'supervisor']).optional(),
  }),
  workers: z.array(
    z.object({
      name: z.string(),
      pid: z.number().optional(),
      running: z.boolean(),
      restarts: z.number(),
      startedAt: z.string().optional(),
      lastExit: workerExitSchema.optional(),
      /** The worker bundle it runs from: its version on the host. */
      bundle: z.string().optional(),
    }),
  ),
});
export type HostStatus = z.infer<typeof statusSchema>;

export const stopSchema = z.object({ ok: z.literal(true), killed: z.array(z.number()) });

function tail(text: string, lines = 5): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/** Node on the host and new enough, or a HostStepError that says what to install. */
export async function checkNode(session: SshSession, node: string): Promise<string> {
  const host = session.target.name;
  const result = await session.exec([node, '--version'], { step: 'node' });
  if (result.code === 127 || (result.code !== 0 && /not found|No such file/i.test(result.stderr))) {
    throw new HostStepError(
      host,
      'node',
      `${node} not found on the host (PATH of a non-interactive ssh session); install Node.js ` +
        `${MINIMUM_NODE.join('.')} or newer there (https://nodejs.org, or the distribution's nodejs package), ` +
        'or set node: /path/to/node for this host in hosts.yml',
    );
  }
  const version = result.stdout.trim();
  const [major = 0, minor = 0] = /^v(\d+)\.(\d+)/.exec(version)?.slice(1).map(Number) ?? [];
  if (result.code !== 0 || major < MINIMUM_NODE[0] || (major === MINIMUM_NODE[0] && minor < MINIMUM_NODE[1])) {
    throw new HostStepError(
      host,
      'node',
      `${node} is ${version || `not runnable (${tail(result.stderr, 1)})`}; Sweep's worker needs Node.js ` +
        `${MINIMUM_NODE.join('.')} or newer`,
    );
  }
  return version;
}

function agentArgv(node: string, command: AgentCommand, argument: unknown): string[] {
  return [node, '--input-type=module', '-', command, JSON.stringify(argument)];
}

function parseAnswer<T>(session: SshSession, command: AgentCommand, schema: z.ZodType<T>, stdout: string): T {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new HostStepError(session.target.name, command, `the host agent answered ${JSON.stringify(tail(stdout, 1))}`);
  }
  const failed = failureSchema.safeParse(value);
  if (failed.success) throw new HostStepError(session.target.name, `${command} ${failed.data.step}`, failed.data.error);
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new HostStepError(
      session.target.name,
      command,
      `unexpected answer from the host agent: ${parsed.error.message}`,
    );
  }
  return parsed.data;
}

/** Runs an agent command and returns its checked answer. */
export async function runAgent<T>(
  session: SshSession,
  node: string,
  command: AgentCommand,
  argument: unknown,
  schema: z.ZodType<T>,
): Promise<T> {
  const result = await session.exec(agentArgv(node, command, argument), { stdin: agentCode(), step: command });
  if (result.code !== 0 && result.stdout.trim() === '') {
    throw new HostStepError(
      session.target.name,
      command,
      `the host agent failed (exit ${result.code}): ${tail(result.stderr)}`,
    );
  }
  return parseAnswer(session, command, schema, result.stdout);
}

/** Runs `pack` with its archive streamed into `into`. */
export async function packInto(session: SshSession, node: string, argument: unknown, into: Writable): Promise<void> {
  const result = await session.execInto(agentArgv(node, 'pack', argument), { stdin: agentCode(), into, step: 'pack' });
  if (result.code !== 0) {
    throw new HostStepError(
      session.target.name,
      'pack',
      `the host agent failed (exit ${result.code}): ${tail(result.stderr)}`,
    );
  }
}
