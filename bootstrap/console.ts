/**
 * Builds the `npx topiq` console: the command registry and the application factory.
 * `bin/topiq.js` calls `main()` and exits with what it returns. The application is built
 * only when a command asks for it, so `--help` and usage errors need no Redis.
 *
 * To add a command: write a `BaseCommand` subclass (one class per file, e.g.
 * `core/console/commands/route_list_command.ts` or `app/commands/...`) and list it in
 * `commands` below.
 */
import { createRequire } from 'node:module';
import { type CommandClass, Kernel } from '../core/console/index.js';
import { jobCommands, messagesCommands, queueCommands } from '../core/console/commands/index.js';
import type { Application } from '../core/index.js';
import { DevicesSimulateCommand } from './commands/devices_simulate_command.js';
import { RouteListCommand } from './commands/route_list_command.js';
import { ServeCommand } from './commands/serve_command.js';

/** Every command `npx topiq` offers, in `--help` order. */
export const commands: readonly CommandClass[] = [
  ServeCommand,
  RouteListCommand,
  ...queueCommands,
  ...jobCommands,
  ...messagesCommands,
  DevicesSimulateCommand,
];

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/**
 * Runs one command line (without `node` and the script path) and resolves to the exit
 * code: 0 done, 1 failed, 2 bad command line.
 *
 * @example
 * process.exitCode = await main(process.argv.slice(2));
 */
export async function main(argv: string[]): Promise<number> {
  // A worker's output is its log; every other command's stdout is its result (tables, --json).
  const logToStderr = argv[0] !== 'queue:work';
  const kernel = new Kernel({
    commands,
    version,
    createApplication: ({ readsQueues }) => loadApplication(logToStderr, readsQueues),
  });
  return kernel.handle(argv);
}

/**
 * `createApplication()` from `./app.js`, imported on first use: loading config, jobs and
 * drivers takes longer than printing help, which needs none of them.
 */
async function loadApplication(logToStderr: boolean, readsQueues: boolean): Promise<Application> {
  const { createApplication } = await import('./app.js');
  return createApplication({ logToStderr, memoryDriverWarning: readsQueues });
}
