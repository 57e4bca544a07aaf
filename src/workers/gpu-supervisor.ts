import { spawn, type ChildProcess } from 'node:child_process';

export interface SupervisedWorker {
  readonly label: string;
  readonly args: readonly string[];
}

/**
 * `sweep worker --all-gpus`: one worker process per GPU, each restarted (with backoff) if it dies, all stopped
 * together on SIGINT/SIGTERM. Each child is a full worker, so one GPU's crash never touches the others.
 */
export async function superviseWorkers(command: string, workers: readonly SupervisedWorker[]): Promise<void> {
  let stopping = false;
  const children = new Map<string, ChildProcess>();
  const waitingToRestart = new Map<string, () => void>();
  const exits: Promise<void>[] = workers.map(
    (worker) =>
      new Promise<void>((resolve) => {
        let restarts = 0;
        const start = () => {
          waitingToRestart.delete(worker.label);
          if (stopping) return resolve();
          const startedAt = Date.now();
          const child = spawn(command, worker.args, { stdio: 'inherit' });
          children.set(worker.label, child);
          child.once('exit', (code, signal) => {
            children.delete(worker.label);
            if (stopping) return resolve();
            // A worker that ran a while before dying gets a fresh backoff.
            restarts = Date.now() - startedAt > 60_000 ? 1 : restarts + 1;
            const delayMs = Math.min(30_000, 1000 * 2 ** (restarts - 1));
            process.stderr.write(`${worker.label}: exited (${signal ?? code}); restarting in ${delayMs / 1000} s\n`);
            const timer = setTimeout(start, delayMs);
            waitingToRestart.set(worker.label, () => {
              clearTimeout(timer);
              resolve();
            });
          });
        };
        start();
      }),
  );
  const stop = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const child of children.values()) child.kill(signal);
    for (const giveUp of waitingToRestart.values()) giveUp();
  };
  process.once('SIGINT', stop).once('SIGTERM', stop);
  await Promise.all(exits);
}
