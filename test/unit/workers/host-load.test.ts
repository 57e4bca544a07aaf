import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  busyCoresBetween,
  cgroupMemoryFiles,
  parseCgroupLimit,
  parseMeminfo,
  parseProcStat,
  readHostLoad,
} from '../../../src/workers/host-load.js';

test('meminfo: MemTotal and MemAvailable in bytes', () => {
  const text = 'MemTotal:       24683652 kB\nMemFree:        21413524 kB\nMemAvailable:   23530060 kB\nBuffers: 1 kB\n';
  assert.deepEqual(parseMeminfo(text), { totalBytes: 24683652 * 1024, availableBytes: 23530060 * 1024 });
});

test('meminfo without MemAvailable (kernels before 3.14): free plus buffers and page cache', () => {
  const text = 'MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 20 kB\nCached: 300 kB\nSwapCached: 999 kB\n';
  assert.deepEqual(parseMeminfo(text), { totalBytes: 1000 * 1024, availableBytes: 420 * 1024 });
  assert.equal(parseMeminfo('garbage'), undefined);
});

test('/proc/stat: every non-idle state is busy, iowait is idle, guest is not counted twice', () => {
  //            user nice system idle iowait irq softirq steal guest guest_nice
  const text =
    'cpu  100 10 50 800 40 5 5 10 30 0\ncpu0 50 5 25 400 20 2 3 5 15 0\ncpu1 50 5 25 400 20 3 2 5 15 0\nintr 1\n';
  assert.deepEqual(parseProcStat(text), { busy: 180, total: 1020, cpus: 2 });
  assert.equal(parseProcStat('intr 1\n'), undefined);
});

test('busy cores between two readings', () => {
  const before = { busy: 1000, total: 4000, cpus: 4 };
  assert.equal(busyCoresBetween(before, { busy: 1300, total: 4400, cpus: 4 }), 3);
  assert.equal(busyCoresBetween(before, { busy: 1000, total: 4400, cpus: 4 }), 0);
  assert.equal(busyCoresBetween(before, before), undefined);
});

test('cgroup memory files: own cgroup and every ancestor, v2 and v1', () => {
  assert.deepEqual(cgroupMemoryFiles('0::/user.slice/job.scope\n', '/cg'), [
    { limit: '/cg/user.slice/job.scope/memory.max', usage: '/cg/user.slice/job.scope/memory.current' },
    { limit: '/cg/user.slice/memory.max', usage: '/cg/user.slice/memory.current' },
    { limit: '/cg/memory.max', usage: '/cg/memory.current' },
  ]);
  assert.deepEqual(cgroupMemoryFiles('5:cpu,cpuacct:/x\n4:memory:/docker/abc\n0::/\n', '/cg'), [
    { limit: '/cg/memory/docker/abc/memory.limit_in_bytes', usage: '/cg/memory/docker/abc/memory.usage_in_bytes' },
    { limit: '/cg/memory/docker/memory.limit_in_bytes', usage: '/cg/memory/docker/memory.usage_in_bytes' },
    { limit: '/cg/memory/memory.limit_in_bytes', usage: '/cg/memory/memory.usage_in_bytes' },
    { limit: '/cg/memory.max', usage: '/cg/memory.current' },
  ]);
});

test('cgroup limits: bytes, or none for max and v1 unlimited', () => {
  assert.equal(parseCgroupLimit('17179869184\n'), 17179869184);
  assert.equal(parseCgroupLimit('max\n'), undefined);
  assert.equal(parseCgroupLimit('9223372036854771712\n'), undefined);
  assert.equal(parseCgroupLimit(''), undefined);
});

test('readHostLoad: figures of this host; busy cores once there is a previous reading', async () => {
  const first = await readHostLoad(undefined, () => 42);
  assert.equal(first.load.at, 42);
  assert.equal(first.load.cpuBusyCores, undefined);
  assert.ok(first.load.cpus >= 1);
  assert.ok(first.load.memoryAvailableBytes > 0 && first.load.memoryAvailableBytes <= first.load.memoryTotalBytes);
  assert.ok(Number.isFinite(first.load.loadAverage1m));
  if (first.ticks) {
    const earlier = { ...first.ticks, busy: first.ticks.busy - 50, total: first.ticks.total - 100 };
    const second = await readHostLoad(earlier);
    assert.ok((second.load.cpuBusyCores ?? -1) >= 0);
  }
});
