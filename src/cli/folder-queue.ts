// jobdispatcher's folder queue, made durable: scripts dropped into `<dir>/queue/` run one after another on one
// GPU, in natural order (`script2` before `script10`), each as a one-trial Sweep sweep (so `status`, `results`
// and the Web UI see it), and end in `completed/` or `failed/` with their stdout and stderr beside them. A
// script moves to `running/` with a marker naming its sweep before the sweep starts, so a dispatcher that dies
// at any point finds, on restart, every script it took and the sweep that runs it: none forgotten, none twice.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { dump } from 'js-yaml';
import { parseSpec } from '../sweep-spec/load-spec.js';
import { logFileName, newSweepId } from '../temporal/names.js';
import type { SweepOptions } from '../workflows/types.js';
import { startSweep, sweepMemo, trialRows } from './sweep-client.js';

export type LogLevel = 'INFO' | 'WARNING';

export interface FolderQueueOptions {
  readonly dir: string;
  readonly sweepOptions: SweepOptions;
  /** The dispatcher's worker's trial directories: where each script's stdout and stderr are read from. */
  readonly trialsDir: string;
  readonly pollMs: number;
  readonly log: (level: LogLevel, text: string) => void;
}

/** `script2` before `script10`: digit runs compare as numbers (jobdispatcher sorted as text). */
export function naturalCompare(a: string, b: string): number {
  const parts = (text: string) => text.split(/(\d+)/);
  const [left, right] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const [x = '', y = ''] = [left[i], right[i]];
    if (x === y) continue;
    const numeric = i % 2 === 1 && x !== '' && y !== '';
    const order = numeric ? Number(x) - Number(y) || x.length - y.length : x < y ? -1 : 1;
    if (order !== 0) return order;
  }
  return 0;
}

/** A script with a shebang runs as itself (its interpreter, its executable bit); one without runs with sh. */
export function scriptCommand(path: string): string[] {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const read = readSync(fd, head, 0, 2, 0);
    return read === 2 && head.toString('latin1') === '#!' ? [path] : ['sh', path];
  } finally {
    closeSync(fd);
  }
}

const MARKER_SUFFIX = '.sweep';

export class FolderQueue {
  private readonly queueDir: string;
  private readonly runningDir: string;
  private announced = new Set<string>();
  private saidEmpty = false;

  constructor(
    private readonly client: Client,
    private readonly options: FolderQueueOptions,
  ) {
    this.queueDir = join(options.dir, 'queue');
    this.runningDir = join(options.dir, 'running');
    for (const sub of ['queue', 'running', 'completed', 'failed'])
      mkdirSync(join(options.dir, sub), { recursive: true });
  }

  /** Runs until `stopped` resolves; each round finishes what ended and starts the next script when none runs. */
  async run(stopped: Promise<void>): Promise<void> {
    let stop = false;
    void stopped.then(() => (stop = true));
    this.options.log('INFO', '------------ Job Dispatcher Started ------------');
    while (!stop) {
      const running = await this.settleRunning();
      const queued = this.announce();
      if (!running) await this.startNext(queued);
      await Promise.race([delay(this.options.pollMs), stopped]);
    }
  }

  private queued(): string[] {
    return readdirSync(this.queueDir)
      .filter((name) => name.endsWith('.sh') && statSync(join(this.queueDir, name)).isFile())
      .sort(naturalCompare);
  }

  /** Scripts taken earlier (by this run or a dead one): finished ones moved on; true while one still runs. */
  private async settleRunning(): Promise<boolean> {
    let busy = false;
    const inRunning = readdirSync(this.runningDir);
    const taken = inRunning.filter((name) => name.endsWith('.sh')).sort(naturalCompare);
    // A marker whose script already moved on (the dispatcher died between the two steps of finish()).
    for (const name of inRunning)
      if (name.endsWith(`.sh${MARKER_SUFFIX}`) && !taken.includes(name.slice(0, -MARKER_SUFFIX.length)))
        rmSync(join(this.runningDir, name), { force: true });
    for (const name of taken) {
      const marker = join(this.runningDir, `${name}${MARKER_SUFFIX}`);
      // Taken but its sweep not yet named (the dispatcher died in between): it starts now, as if just taken.
      const sweepId = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : this.launch(name);
      const status = await this.sweepStatus(sweepId);
      if (status === undefined) {
        await this.start(name, sweepId);
        busy = true;
      } else if (status === 'RUNNING') {
        busy = true;
      } else {
        await this.finish(name, sweepId);
      }
    }
    return busy;
  }

  private async sweepStatus(sweepId: string): Promise<string | undefined> {
    try {
      return (await this.client.workflow.getHandle(sweepId).describe()).status.name;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    }
  }

  /** Says which scripts appeared since the last look, while a script runs too, as jobdispatcher did. */
  private announce(): string[] {
    const queued = this.queued();
    const fresh = queued.filter((name) => !this.announced.has(name));
    if (fresh.length > 0) {
      this.options.log(
        'INFO',
        `${fresh.length} new jobs added to queue [${fresh.map((name) => `'${name}'`).join(', ')}]`,
      );
      this.saidEmpty = false;
    }
    // Removed from queue/ before its turn: it is simply never taken (jobdispatcher's way to cancel one).
    this.announced = new Set(queued);
    return queued;
  }

  private async startNext(queued: readonly string[]): Promise<void> {
    const next = queued[0];
    if (!next) {
      if (!this.saidEmpty) this.options.log('INFO', 'Job queue empty. Waiting...');
      this.saidEmpty = true;
      return;
    }
    renameSync(join(this.queueDir, next), join(this.runningDir, next));
    this.announced.delete(next);
    const sweepId = this.launch(next);
    await this.start(next, sweepId);
  }

  /** Names the sweep of a taken script, durably, before it exists. */
  private launch(name: string): string {
    const sweepId = newSweepId(this.specName(name), new Date(), randomBytes(2).toString('hex'));
    writeFileSync(join(this.runningDir, `${name}${MARKER_SUFFIX}`), `${sweepId}\n`);
    return sweepId;
  }

  private specName(name: string): string {
    return `queue-${name}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 63);
  }

  private async start(name: string, sweepId: string): Promise<void> {
    const path = join(this.runningDir, name);
    const parsed = parseSpec(
      dump({
        name: this.specName(name),
        // Braces are the command template's: a path that holds some is passed through as written.
        command: scriptCommand(path).map((word) => word.replaceAll('{', '{{').replaceAll('}', '}}')),
        args: 'none',
        parameters: { script: [name] },
      }),
      { pool: this.options.sweepOptions.pool },
    );
    if (!parsed.ok) throw new Error(`folder queue: ${name}: ${JSON.stringify(parsed.problems)}`);
    this.options.log('INFO', `Running job ${name}...`);
    await startSweep(
      this.client,
      { ...parsed.spec, trialNames: [name] },
      { ...this.options.sweepOptions, startDir: this.options.dir },
      { sweepId },
    ).catch((error: unknown) => {
      // Started by an earlier run of this dispatcher: the same sweep, already on its way.
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    });
  }

  /** Moves a finished script to completed/ or failed/ with its output beside it, and says how it ended. */
  private async finish(name: string, sweepId: string): Promise<void> {
    const memo = await sweepMemo(this.client, sweepId);
    const [row] = await trialRows(this.client, sweepId, memo);
    const ok = row?.state === 'succeeded';
    const into = join(this.options.dir, ok ? 'completed' : 'failed');
    const attempt = row?.attempts.at(-1)?.attempt;
    for (const [stream, suffix] of [
      ['stdout', 'out'],
      ['stderr', 'err'],
    ] as const) {
      const log = join(this.options.trialsDir, sweepId, name, 'logs', logFileName(sweepId, attempt ?? 1, stream));
      if (existsSync(log)) copyFileSync(log, join(into, `${name}.${suffix}.new`));
    }
    // A script of the same name that ran before keeps its place: this one (and its output) gets the next `.N`.
    let kept = name;
    for (let n = 1; existsSync(join(into, kept)); n++) kept = `${name}.${n}`;
    for (const suffix of ['out', 'err']) {
      const output = join(into, `${name}.${suffix}.new`);
      if (existsSync(output)) renameSync(output, join(into, `${kept}.${suffix}`));
    }
    renameSync(join(this.runningDir, name), join(into, kept));
    rmSync(join(this.runningDir, `${name}${MARKER_SUFFIX}`), { force: true });
    const how =
      row?.exitCode !== undefined
        ? `returned ${row.exitCode}`
        : `${row?.state ?? 'lost'}${row?.cause ? `: ${row.cause}` : ''}`;
    this.options.log(ok ? 'INFO' : 'WARNING', `${name} ${how}`);
  }
}
