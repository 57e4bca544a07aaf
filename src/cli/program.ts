import { Command } from 'commander';
import { registerExpandCommand } from './commands/expand.js';
import { registerRenderCommand } from './commands/render.js';
import { registerServerCommand } from './commands/server.js';
import { registerValidateCommand } from './commands/validate.js';
import { registerWorkerCommand } from './commands/worker.js';
import { registerQueueCommand } from './commands/queue.js';
import { registerWorkersCommand } from './commands/workers.js';
import { registerBatchCommand } from './commands/batch.js';
import { registerFetchCommand } from './commands/fetch.js';
import { registerHostsCommand } from './commands/hosts.js';
import { registerStartCommand } from './commands/start.js';
import { registerWatchCommand } from './commands/watch.js';
import { registerStatusCommand } from './commands/status.js';
import { registerResultsCommand } from './commands/results.js';
import { registerLogsCommand } from './commands/logs.js';
import { registerCancelCommand } from './commands/cancel.js';
import { registerListCommand } from './commands/list.js';
import { registerRetryCommand } from './commands/retry.js';
import { registerSignalCommand } from './commands/signal.js';
import { registerWaitCommand } from './commands/wait.js';
import { registerPythonPathCommand } from './commands/python-path.js';
import { registerReportCommand } from './commands/report.js';
import { registerSteerCommands } from './commands/steer.js';
import { sweepVersion } from './version.js';

/** The `sweep` command tree. Parsing errors surface as CommanderError; index.ts turns them into exit codes. */
export function buildProgram(): Command {
  const program = new Command('sweep')
    .description('Durable hyperparameter sweeps across GPU hosts, on Temporal.')
    .version(sweepVersion, '-V, --version', 'print the version of Sweep')
    .helpOption('-h, --help', 'show help for a command')
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ outputError: (message, write) => write(`sweep: ${message.replace(/^error: /, '')}`) });
  registerStartCommand(program);
  registerBatchCommand(program);
  registerWatchCommand(program);
  registerStatusCommand(program);
  registerResultsCommand(program);
  registerReportCommand(program);
  registerWaitCommand(program);
  registerLogsCommand(program);
  registerCancelCommand(program);
  registerSteerCommands(program);
  registerRetryCommand(program);
  registerSignalCommand(program);
  registerListCommand(program);
  registerValidateCommand(program);
  registerExpandCommand(program);
  registerRenderCommand(program);
  registerWorkerCommand(program);
  registerQueueCommand(program);
  registerWorkersCommand(program);
  registerHostsCommand(program);
  registerFetchCommand(program);
  registerServerCommand(program);
  registerPythonPathCommand(program);
  return program;
}
