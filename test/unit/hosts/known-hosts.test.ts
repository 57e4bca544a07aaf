import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkHostKey, fingerprint, knownHostsLine, type HostKey } from '../../../src/hosts/known-hosts.js';
import { tempDir } from '../../helpers/temporal.js';

/** A fresh key pair from OpenSSH's own ssh-keygen: the public line, the key, and ssh-keygen's fingerprint. */
function newKey(dir: string, name: string, type = 'ed25519'): { line: string; key: HostKey; print: string } {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', path]);
  const line = readFileSync(`${path}.pub`, 'utf8').trim();
  const [keyType = '', base64 = ''] = line.split(' ');
  const print = execFileSync('ssh-keygen', ['-l', '-f', `${path}.pub`], { encoding: 'utf8' }).split(' ')[1] ?? '';
  return { line, key: { type: keyType, blob: Buffer.from(base64, 'base64') }, print };
}

test('fingerprints read as ssh-keygen prints them', () => {
  const { key, print } = newKey(tempDir('kh'), 'a');
  assert.equal(fingerprint(key.blob), print);
});

test('known, unknown, changed and revoked keys, by plain names, ports and patterns', () => {
  const dir = tempDir('kh');
  const a = newKey(dir, 'a');
  const b = newKey(dir, 'b');
  const rsa = newKey(dir, 'r', 'rsa');
  const [type, base64] = a.line.split(' ');
  const text = [
    '# comment',
    `gpu1,10.0.0.5 ${type} ${base64}`,
    `[gpu2]:2222 ${type} ${base64}`,
    `*.lab,!evil.lab ${type} ${base64}`,
    `@revoked gpu3 ${b.line}`,
    `gpu4 ${b.line}`,
  ].join('\n');
  assert.deepEqual(checkHostKey(text, 'gpu1', 22, a.key), { kind: 'known' });
  assert.deepEqual(checkHostKey(text, '10.0.0.5', 22, a.key), { kind: 'known' });
  assert.deepEqual(checkHostKey(text, 'gpu2', 2222, a.key), { kind: 'known' });
  assert.equal(checkHostKey(text, 'gpu2', 22, a.key).kind, 'unknown', 'another port is another host');
  assert.deepEqual(checkHostKey(text, 'x.lab', 22, a.key), { kind: 'known' });
  assert.equal(checkHostKey(text, 'evil.lab', 22, a.key).kind, 'unknown');
  assert.deepEqual(checkHostKey(text, 'gpu1', 22, b.key), { kind: 'changed', fingerprint: b.print, line: 2 });
  assert.deepEqual(checkHostKey(text, 'gpu3', 22, b.key), { kind: 'revoked', fingerprint: b.print, line: 5 });
  assert.deepEqual(checkHostKey(text, 'gpu4', 22, rsa.key), { kind: 'unknown', fingerprint: rsa.print });
  assert.deepEqual(checkHostKey('', 'new', 22, a.key), { kind: 'unknown', fingerprint: a.print });
});

test('hashed names, as ssh-keygen -H writes them, and the line an accepted key is recorded with', () => {
  const dir = tempDir('kh');
  const a = newKey(dir, 'a');
  const file = join(dir, 'known_hosts');
  writeFileSync(file, knownHostsLine('gpu1', 22, a.key) + knownHostsLine('gpu2', 2200, a.key));
  execFileSync('ssh-keygen', ['-q', '-H', '-f', file]);
  const hashed = readFileSync(file, 'utf8');
  assert.doesNotMatch(hashed, /gpu1|gpu2/, 'names are hashed');
  assert.deepEqual(checkHostKey(hashed, 'gpu1', 22, a.key), { kind: 'known' });
  assert.deepEqual(checkHostKey(hashed, 'gpu2', 2200, a.key), { kind: 'known' });
  assert.equal(checkHostKey(hashed, 'gpu3', 22, a.key).kind, 'unknown');
});
