import type { Command } from 'commander';
import { PYTHON_DIR } from '../../activities/trial-env.js';

export function registerPythonPathCommand(program: Command): void {
  program
    .command('python-path')
    .description(
      "print the folder of Sweep's Python modules (sweep_pool, sweep_helper): PYTHONPATH=$(sweep python-path) python driver.py",
    )
    .action(() => {
      process.stdout.write(`${PYTHON_DIR.replace(/\/$/, '')}\n`);
    });
}
