// Runs one step on every host at once, each over its own ssh session: one bad host never stops the others, and
// each failure keeps the host and the step it failed at for the summary.
import { homedir } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InventoryHost } from './inventory.js';
import { checkNode } from './remote-agent.js';
import { sshHostConfig } from './ssh-config.js';
import { HostStepError, SshSession, type SshOptions, type SshTarget } from './ssh-session.js';

export interface HostResult<T> {
  readonly host: InventoryHost;
  readonly value?: T;
  readonly error?: HostStepError;
  /** `node --version` on the host, where ssh got that far. */
  readonly node?: string;
}

/** A ProxyJump hop (`[user@]host[:port]`, or an alias of ~/.ssh/config) as a target of its own. */
export function jumpTarget(jump: string, sshConfigText: string, localUser: string): SshTarget {
  const match = /^(?:([^@]+)@)?([^:@]+)(?::(\d+))?$/.exec(jump);
  const alias = match?.[2] ?? jump;
  const config = sshHostConfig(sshConfigText, alias, homedir());
  return {
    name: alias,
    address: config.hostName ?? alias,
    port: match?.[3] ? Number(match[3]) : (config.port ?? 22),
    user: match?.[1] ?? config.user ?? localUser,
    keyFiles: config.identityFiles,
    agent: true,
    ...(config.proxyJump ? { proxyJump: config.proxyJump } : {}),
  };
}

export function userSshConfig(): string {
  const path = join(homedir(), '.ssh', 'config');
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

function asStepError(host: InventoryHost, error: unknown): HostStepError {
  if (error instanceof HostStepError) return error;
  return new HostStepError(
    host.name,
    'unexpected',
    error instanceof Error ? (error.stack ?? error.message) : String(error),
  );
}

/** Connects to every host in parallel, checks its Node, runs `body`, and always closes the session. */
export async function eachHost<T>(
  hosts: readonly InventoryHost[],
  options: SshOptions,
  body: (session: SshSession, host: InventoryHost) => Promise<T>,
): Promise<HostResult<T>[]> {
  return Promise.all(
    hosts.map(async (host): Promise<HostResult<T>> => {
      let session: SshSession | undefined;
      let node: string | undefined;
      try {
        session = await SshSession.open(host, options);
        node = await checkNode(session, host.node);
        return { host, node, value: await body(session, host) };
      } catch (error) {
        return { host, ...(node ? { node } : {}), error: asStepError(host, error) };
      } finally {
        session?.close();
      }
    }),
  );
}

/** `2 hosts up; 1 failed: hostc (node)`, for the last line of a command over hosts. */
export function hostsSummary(results: readonly HostResult<unknown>[], done: string): string {
  const failed = results.filter((result) => result.error);
  const ok = results.length - failed.length;
  const head = `${ok} host${ok === 1 ? '' : 's'} ${done}`;
  if (failed.length === 0) return head;
  return `${head}; ${failed.length} failed: ${failed.map((result) => `${result.host.name} (${result.error?.step})`).join(', ')}`;
}
