import { spawnSync } from 'node:child_process';
import { missingBrowser } from '../test/helpers/browser.js';
import { LAB_SYSTEM_PACKAGES, missingLabCommands } from '../test/helpers/ssh-lab.js';

/**
 * Installs what the ssh lab and page tests need (sshd, ip, chromium, ...) when it is missing and this is a root Debian-like
 * machine; otherwise does nothing, and the lab's own error then says what to install.
 */
export function ensureSystemPackages(): void {
  const missing = [...missingLabCommands(), ...missingBrowser()];
  if (missing.length === 0 || process.getuid?.() !== 0) return;
  if (spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status !== 0) return;
  const lab = missingLabCommands().length > 0 ? LAB_SYSTEM_PACKAGES : [];
  const packages = [...new Set([...lab, ...missing.map((entry) => entry.package)])];
  process.stderr.write(
    `ssh lab and page tests need ${missing.map((entry) => entry.command).join(', ')}: installing ${packages.join(' ')}\n`,
  );
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', ...packages]]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (result.status !== 0) {
      process.stderr.write(
        `apt-get ${args[0]} failed (exit ${result.status ?? result.signal}); ssh lab and page tests will fail\n`,
      );
      return;
    }
  }
}
