// Host keys checked against OpenSSH's known_hosts, in its own formats: plain and hashed (`|1|salt|hmac`) names,
// `[host]:port` for ports other than 22, patterns with `*`, `?` and `!`, and `@revoked` lines. Never "accept
// anything": an unknown key is refused with its fingerprint, a changed one as a possible attack. Pure.
import { createHash, createHmac } from 'node:crypto';
import { patternListMatches } from './ssh-patterns.js';

export interface HostKey {
  /** `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`, … */
  readonly type: string;
  /** The key blob, as the server sent it (what known_hosts holds in base64). */
  readonly blob: Buffer;
}

export type HostKeyVerdict =
  | { readonly kind: 'known' }
  /** No line for this host and key type: first contact, or a key type never seen. */
  | { readonly kind: 'unknown'; readonly fingerprint: string }
  /** A line for this host and type holds another key: the host was reinstalled, or someone is in the middle. */
  | { readonly kind: 'changed'; readonly fingerprint: string; readonly line: number }
  | { readonly kind: 'revoked'; readonly fingerprint: string; readonly line: number };

/** `SHA256:…`, as `ssh-keygen -l` and ssh's own prompts show it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** How known_hosts names a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Whether a line's host field names `name`: hashed, or a comma list of patterns (a negation excludes). */
function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  return patternListMatches(field.split(','), name);
}

interface Entry {
  readonly line: number;
  readonly marker?: string;
  readonly hosts: string;
  readonly type: string;
  readonly blob: Buffer;
}

function entries(text: string): Entry[] {
  const found: Entry[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) return;
    const marker = fields[0].startsWith('@') ? fields.shift() : undefined;
    const [hosts, type, key] = fields;
    if (!hosts || !type || !key) return;
    found.push({ line: index + 1, ...(marker ? { marker } : {}), hosts, type, blob: Buffer.from(key, 'base64') });
  });
  return found;
}

/** What known_hosts says of the key `host:port` offered. */
export function checkHostKey(text: string, host: string, port: number, key: HostKey): HostKeyVerdict {
  const name = knownHostsName(host, port);
  const print = fingerprint(key.blob);
  const matching = entries(text).filter((entry) => hostFieldMatches(entry.hosts, name));
  const revoked = matching.find((entry) => entry.marker === '@revoked' && entry.blob.equals(key.blob));
  if (revoked) return { kind: 'revoked', fingerprint: print, line: revoked.line };
  // Certificate authorities are not supported: their lines neither vouch for a key nor conflict with one.
  const plain = matching.filter((entry) => entry.marker === undefined && entry.type === key.type);
  if (plain.some((entry) => entry.blob.equals(key.blob))) return { kind: 'known' };
  const other = plain[0];
  return other ? { kind: 'changed', fingerprint: print, line: other.line } : { kind: 'unknown', fingerprint: print };
}

/** The line that records a newly accepted key (`--accept-new-host-keys`), as `ssh` itself would add it. */
export function knownHostsLine(host: string, port: number, key: HostKey): string {
  return `${knownHostsName(host, port)} ${key.type} ${key.blob.toString('base64')}\n`;
}
