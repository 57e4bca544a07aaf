// The part of OpenSSH's client configuration that says how to reach a host alias: HostName, User, Port,
// IdentityFile and ProxyJump, with OpenSSH's rules (the first value obtained wins; `Host` patterns with `*`,
// `?` and `!`; `Match` blocks are skipped, as their conditions need a live connection). Pure.
import { homedir } from 'node:os';
import { patternListMatches } from './ssh-patterns.js';

export interface SshHostConfig {
  readonly hostName?: string;
  readonly user?: string;
  readonly port?: number;
  /** Every IdentityFile that applies, in order (OpenSSH tries them all). */
  readonly identityFiles: readonly string[];
  readonly proxyJump?: string;
}

interface Block {
  readonly patterns: readonly string[];
  readonly options: readonly (readonly [string, string])[];
}

function parseBlocks(text: string): Block[] {
  const blocks: { patterns: string[]; options: [string, string][] }[] = [{ patterns: ['*'], options: [] }];
  let skipping = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line);
    if (!match) continue;
    const keyword = (match[1] ?? '').toLowerCase();
    const value = (match[2] ?? '').trim().replace(/^"(.*)"$/, '$1');
    if (keyword === 'host') {
      skipping = false;
      blocks.push({ patterns: value.split(/\s+/), options: [] });
    } else if (keyword === 'match') {
      skipping = true;
    } else if (!skipping) {
      blocks.at(-1)?.options.push([keyword, value]);
    }
  }
  return blocks;
}

/** `~/x` → the home directory; `%h`, `%u`, `%%` as OpenSSH expands them in IdentityFile. */
function expandPath(path: string, host: string, user: string | undefined, home: string): string {
  const tokens = path.replace(/%[%hu]/g, (token) =>
    token === '%%' ? '%' : token === '%h' ? host : (user ?? process.env.USER ?? ''),
  );
  return tokens.startsWith('~/') ? `${home}${tokens.slice(1)}` : tokens;
}

/** What `~/.ssh/config` says for `alias`; an empty config (or none) says nothing. */
export function sshHostConfig(text: string, alias: string, home = homedir()): SshHostConfig {
  const first = new Map<string, string>();
  const identityFiles: string[] = [];
  for (const block of parseBlocks(text)) {
    if (!patternListMatches(block.patterns, alias)) continue;
    for (const [keyword, value] of block.options) {
      if (keyword === 'identityfile') identityFiles.push(value);
      else if (!first.has(keyword)) first.set(keyword, value);
    }
  }
  const hostName = first.get('hostname')?.replace(/%h/g, alias);
  const user = first.get('user');
  const port = first.get('port');
  const proxyJump = first.get('proxyjump');
  return {
    ...(hostName ? { hostName } : {}),
    ...(user ? { user } : {}),
    ...(port && /^\d+$/.test(port) ? { port: Number(port) } : {}),
    identityFiles: identityFiles.map((file) => expandPath(file, hostName ?? alias, user, home)),
    ...(proxyJump && proxyJump.toLowerCase() !== 'none' ? { proxyJump } : {}),
  };
}
