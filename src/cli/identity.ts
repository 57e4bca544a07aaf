import { hostname, userInfo } from 'node:os';
import { checkedUserName } from './option-parsers.js';

/** Who runs this command: `$SWEEP_USER`, else `$USER`, else the login name. A sweep's default owner. */
export function userName(env: NodeJS.ProcessEnv = process.env): string {
  return env.SWEEP_USER || env.USER || userInfo().username;
}

/** The user as a sweep's owner: `userName()`, or a ConfigError if it could not go into a visibility query. */
export function ownerName(): string {
  return checkedUserName(userName());
}

/** Who asks for a change: the user, at this host (`alice@gpu-box`). */
export function requester(env: NodeJS.ProcessEnv = process.env): string {
  const host = hostname().split('.')[0] ?? 'host';
  return `${userName(env)}@${host}`;
}
