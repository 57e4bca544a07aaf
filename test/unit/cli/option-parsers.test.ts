import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { parseKeyEqualsJson, parsePort } from '../../../src/cli/option-parsers.js';

test('parsePort accepts 1..65535 and nothing else', () => {
  assert.equal(parsePort('7233'), 7233);
  for (const bad of ['0', '65536', '-1', '72a', '', '1.5']) {
    assert.throws(() => parsePort(bad), InvalidArgumentError, bad);
  }
});

test('parseKeyEqualsJson collects KEY=JSON values and explains bad ones', () => {
  assert.deepEqual(parseKeyEqualsJson('a.b=1', ['x=true']), ['x=true', 'a.b=1']);
  assert.deepEqual(parseKeyEqualsJson('k="v=w"', []), ['k="v=w"']);
  assert.throws(() => parseKeyEqualsJson('novalue', []), {
    message: 'expected KEY=JSON, e.g. limit.blobSize.error=1048576.',
  });
  assert.throws(() => parseKeyEqualsJson('k=text', []), {
    message: `the value of k is not JSON (strings need quotes: k='"text"').`,
  });
});
