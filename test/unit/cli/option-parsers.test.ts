import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import {
  parseAxisValues,
  checkedUserName,
  parseNumberIn,
  parseUserName,
  parseWholeIn,
  parseFractionOption,
  parseKeyEqualsJson,
  parsePort,
  parsePositive,
  parseSize,
} from '../../../src/cli/option-parsers.js';

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

test('parsePositive takes numbers > 0, fractions too', () => {
  assert.equal(parsePositive('4'), 4);
  assert.equal(parsePositive('0.5'), 0.5);
  for (const bad of ['0', '-1', '1e3', 'four', '', '.5']) {
    assert.throws(() => parsePositive(bad), { message: 'expected a number > 0, e.g. 4 or 0.5.' }, bad);
  }
});

test('parseSize reads sizes as a spec writes them, in MB', () => {
  assert.equal(parseSize('10GiB'), 10737);
  assert.equal(parseSize('512MB'), 512);
  assert.equal(parseSize('8000'), 8000);
  for (const bad of ['0', 'lots', '10 bananas', '-1GB']) {
    assert.throws(() => parseSize(bad), { message: 'expected a size like 10GiB, 512MB or 8000 (MB).' }, bad);
  }
});

test('parseFractionOption takes 0 < x <= 1 or a percentage', () => {
  assert.equal(parseFractionOption('0.75'), 0.75);
  assert.equal(parseFractionOption('75%'), 0.75);
  assert.equal(parseFractionOption('33.3%'), 0.333);
  assert.equal(parseFractionOption('1'), 1);
  for (const bad of ['0', '0%', '1.5', '150%', 'most', '-0.5', '75 %%']) {
    assert.throws(
      () => parseFractionOption(bad),
      { message: 'expected a fraction 0 < x <= 1 or a percentage like 75%.' },
      bad,
    );
  }
});

test('parseWholeIn and parseNumberIn: --priority 1..5 and --weight 0.01..1000, with the range in the message', () => {
  const priority = parseWholeIn(1, 5);
  assert.equal(priority('1'), 1);
  assert.equal(priority('5'), 5);
  for (const bad of ['0', '6', '2.5', 'high', '']) {
    assert.throws(() => priority(bad), { message: 'expected a whole number from 1 to 5.' }, bad);
  }
  const weight = parseNumberIn(0.01, 1000);
  assert.equal(weight('0.5'), 0.5);
  assert.equal(weight('3'), 3);
  for (const bad of ['0', '0.001', '1001', '-1', 'x']) {
    assert.throws(() => weight(bad), { message: 'expected a number from 0.01 to 1000, e.g. 2 or 0.5.' }, bad);
  }
});

test('user names: what can go into a visibility query, and a ConfigError naming the variable for a bad $USER', () => {
  assert.equal(parseUserName('alice.b-c_d@lab'), 'alice.b-c_d@lab');
  for (const bad of ['a b', 'x"y', '-lead', '', 'é'])
    assert.throws(() => parseUserName(bad), InvalidArgumentError, bad);
  assert.equal(checkedUserName('root'), 'root');
  assert.throws(() => checkedUserName('x"y'), /user name "x\\"y": expected .* \(set \$SWEEP_USER or --user\)/);
});

test('--add and --add-param take NAME=V1,V2: JSON values where they parse, text otherwise, a JSON list for commas', () => {
  assert.deepEqual(parseAxisValues('lr=0.3,1e-4'), [{ parameter: 'lr', values: [0.3, 0.0001] }]);
  assert.deepEqual(parseAxisValues('opt=adam, sgd,true,null'), [
    { parameter: 'opt', values: ['adam', 'sgd', true, null] },
  ]);
  assert.deepEqual(parseAxisValues('tag=["a,b", "c"]', [{ parameter: 'lr', values: [1] }]), [
    { parameter: 'lr', values: [1] },
    { parameter: 'tag', values: ['a,b', 'c'] },
  ]);
  for (const bad of ['lr', '=1', 'lr=']) assert.throws(() => parseAxisValues(bad), /expected NAME=V1,V2/);
  assert.throws(() => parseAxisValues('lr=[[1]]'), /values are numbers, text, true, false or null; got \[1\]/);
});
