import { InvalidArgumentError } from 'commander';
import { ConfigError } from '../errors.js';
import { parseFraction, parseSizeMb } from '../sweep-spec/quantities.js';
import { PRIORITY_RANGE, WEIGHT_RANGE } from '../sweep-spec/spec-schema.js';
import type { Scalar } from '../sweep-spec/spec-types.js';

export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) {
    throw new InvalidArgumentError('expected a port number from 1 to 65535.');
  }
  return port;
}

/** For repeatable options: `--x a --x b` → ['a', 'b']. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function parseKeyEqualsJson(value: string, previous: string[]): string[] {
  const [key, json] = [value.slice(0, value.indexOf('=')), value.slice(value.indexOf('=') + 1)];
  if (!value.includes('=') || key === '')
    throw new InvalidArgumentError('expected KEY=JSON, e.g. limit.blobSize.error=1048576.');
  try {
    JSON.parse(json);
  } catch {
    throw new InvalidArgumentError(`the value of ${key} is not JSON (strings need quotes: ${key}='"text"').`);
  }
  return collect(value, previous);
}

/** A parameter and the values to add to it: `lr=0.3,0.5`, or a JSON list when a value holds a comma. */
export interface AxisValues {
  readonly parameter: string;
  readonly values: readonly Scalar[];
}

/** For `--add` and `--add-param` (repeatable): each value is JSON when it parses as JSON, else text. */
export function parseAxisValues(value: string, previous: readonly AxisValues[] = []): AxisValues[] {
  const at = value.indexOf('=');
  if (at < 1 || at === value.length - 1) throw new InvalidArgumentError('expected NAME=V1,V2,…, e.g. lr=0.3,0.5.');
  const text = value.slice(at + 1);
  const asJson = (word: string): unknown => {
    try {
      return JSON.parse(word);
    } catch {
      return word;
    }
  };
  const whole = asJson(text);
  const values: readonly unknown[] = Array.isArray(whole)
    ? (whole as unknown[])
    : text.split(',').map((word) => asJson(word.trim()));
  const bad = values.find((each) => each !== null && !['string', 'number', 'boolean'].includes(typeof each));
  if (bad !== undefined)
    throw new InvalidArgumentError(`values are numbers, text, true, false or null; got ${JSON.stringify(bad)}.`);
  return [...previous, { parameter: value.slice(0, at), values: values as Scalar[] }];
}

/** A whole-number option value >= `minimum`. */
export function parseCount(minimum: number) {
  return (value: string): number => {
    const number = Number(value);
    if (!/^\d+$/.test(value) || number < minimum)
      throw new InvalidArgumentError(`expected a whole number >= ${minimum}.`);
    return number;
  };
}

/** A number > 0, fractions allowed: `4`, `0.5`. */
export function parsePositive(value: string): number {
  const number = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || number <= 0)
    throw new InvalidArgumentError('expected a number > 0, e.g. 4 or 0.5.');
  return number;
}

/** A size in megabytes, as a spec writes it: `10GiB`, `512MB`, `8000`. */
export function parseSize(value: string): number {
  const mb = parseSizeMb(value);
  if (mb === undefined) throw new InvalidArgumentError('expected a size like 10GiB, 512MB or 8000 (MB).');
  return mb;
}

/** A fraction 0 < x <= 1, or a percentage: `0.75`, `75%`. */
export function parseFractionOption(value: string): number {
  const fraction = parseFraction(value);
  if (fraction === undefined)
    throw new InvalidArgumentError('expected a fraction 0 < x <= 1 or a percentage like 75%.');
  return fraction;
}

/** A whole number from `min` to `max`: `--priority 1`. */
export function parseWholeIn(min: number, max: number) {
  return (value: string): number => {
    const number = Number(value);
    if (!/^\d+$/.test(value) || number < min || number > max)
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    return number;
  };
}

/** A number from `min` to `max`, fractions allowed: `--weight 0.5`. */
export function parseNumberIn(min: number, max: number) {
  return (value: string): number => {
    const number = Number(value);
    if (!/^\d+(\.\d+)?$/.test(value) || number < min || number > max)
      throw new InvalidArgumentError(`expected a number from ${min} to ${max}, e.g. 2 or 0.5.`);
    return number;
  };
}

const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const USER_NAME_RULE = 'up to 64 letters, digits, ".", "_", "-" or "@", e.g. alice';

/** A user name as a sweep's owner: it goes into visibility queries, so no quotes or spaces. */
export function parseUserName(value: string): string {
  if (!USER_NAME.test(value)) throw new InvalidArgumentError(`expected ${USER_NAME_RULE}.`);
  return value;
}

/** `$SWEEP_USER`/`$USER` as an owner, or a ConfigError that says which variable to set. */
export function checkedUserName(value: string): string {
  if (!USER_NAME.test(value))
    throw new ConfigError([
      `user name ${JSON.stringify(value)}: expected ${USER_NAME_RULE} (set $SWEEP_USER or --user)`,
    ]);
  return value;
}

/** `--priority` of `sweep start` and `sweep edit`: 1 (most urgent) … 5. */
export const parsePriority = parseWholeIn(PRIORITY_RANGE.min, PRIORITY_RANGE.max);

/** `--weight` of `sweep start` and `sweep edit`: an owner's relative share of slots. */
export const parseWeight = parseNumberIn(WEIGHT_RANGE.min, WEIGHT_RANGE.max);
