import { InvalidArgumentError } from 'commander';

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

/** A whole-number option value >= `minimum`. */
export function parseCount(minimum: number) {
  return (value: string): number => {
    const number = Number(value);
    if (!/^\d+$/.test(value) || number < minimum)
      throw new InvalidArgumentError(`expected a whole number >= ${minimum}.`);
    return number;
  };
}
