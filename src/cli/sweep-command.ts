import type { Command } from 'commander';
import { addConnectionOptions } from './connection-flags.js';

/** A command about one sweep, `<parent> <name> <sweep> …`, with the connection flags every such command takes. */
export function sweepCommand(parent: Command, name: string, about = 'sweep ID'): Command {
  return addConnectionOptions(parent.command(name)).argument('<sweep>', about);
}
