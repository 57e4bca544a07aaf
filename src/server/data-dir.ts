import { homedir } from 'node:os';
import { join } from 'node:path';

/** `~/.local/share/sweep`, honouring XDG_DATA_HOME: where `sweep server` keeps its SQLite history and log. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'sweep');
}
