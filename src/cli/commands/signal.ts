import { readFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import yaml from 'js-yaml';
import type { Command } from 'commander';
import { ConfigError, UsageError } from '../../errors.js';
import type { JsonValue } from '../../sweep-spec/spec-types.js';
import { broadcastUpdate } from '../../workflows/messages.js';
import { updateRunningSweep } from '../sweep-update.js';
import { sweepCommand } from '../sweep-command.js';
import { withClient } from '../with-client.js';

function isMapping(value: unknown): value is Record<string, JsonValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `lr=0.1` → {lr: 0.1}; a value that is not JSON is a string (`tag=best` → "best"). */
export function parsePairs(pairs: readonly string[]): Record<string, JsonValue> {
  const data: Record<string, JsonValue> = {};
  const problems: string[] = [];
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) {
      problems.push(`update argument ${JSON.stringify(pair)}: expected key=value`);
      continue;
    }
    const text = pair.slice(at + 1);
    let value: JsonValue;
    try {
      value = JSON.parse(text) as JsonValue;
    } catch {
      value = text;
    }
    data[pair.slice(0, at)] = value;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return data;
}

/** A JSON or YAML file holding one mapping; errors name the file and, for YAML, the line. */
export function readUpdateFile(file: string): Record<string, JsonValue> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`${file}: cannot read the update: ${(error as Error).message}`]);
  }
  let value: unknown;
  try {
    value = yaml.load(text, { schema: yaml.CORE_SCHEMA });
  } catch (error) {
    const mark = (error as { mark?: { line: number; column: number } }).mark;
    const where = mark ? `${file}:${mark.line + 1}:${mark.column + 1}` : file;
    throw new ConfigError([`${where} invalid update: ${(error as { reason?: string }).reason ?? String(error)}`]);
  }
  if (!isMapping(value)) throw new ConfigError([`${file}: an update must be a mapping of keys to values`]);
  return value;
}

export function sendUpdate(client: Client, sweepId: string, data: Record<string, JsonValue>): Promise<number> {
  return updateRunningSweep(client, sweepId, broadcastUpdate, data, {
    whenEnded: 'its trials can no longer receive updates',
    refused: 'update rejected',
  });
}

export function registerSignalCommand(program: Command): void {
  const signal = program.command('signal').description('send something to a running sweep');
  sweepCommand(signal, 'update')
    .argument('[pairs...]', 'key=value pairs (values are JSON when they parse as JSON, else text)')
    .option('--file <file>', 'a JSON or YAML file with the update (pairs override its keys)')
    .description('broadcast a cache update to every running trial of a sweep and to every later one')
    .action(async (sweepId: string, pairs: string[], options: { file?: string }, command: Command) => {
      if (pairs.length === 0 && !options.file)
        throw new UsageError('signal update: give key=value pairs or --file FILE');
      const data = { ...(options.file ? readUpdateFile(options.file) : {}), ...parsePairs(pairs) };
      await withClient(command, async (client) => {
        const version = await sendUpdate(client, sweepId, data);
        process.stdout.write(`${version}\n`);
        process.stderr.write(`update ${version} recorded in sweep ${sweepId}; running trials get it within seconds\n`);
      });
    });
}
