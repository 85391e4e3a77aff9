/** Public API of the console: the command base class, the kernel and output helpers. */
export {
  BaseCommand,
  type CommandClass,
  type CommandContext,
  type ConsoleIO,
  type SignalSource,
} from './command.js';
export * from './commands/index.js';
export { ExitCode, isInformational, reportError } from './exit_codes.js';
export { CollectingOption, Kernel, type KernelOptions } from './kernel.js';
export {
  formatJson,
  plainText,
  plural,
  renderTable,
  type TableColumn,
  type TextSink,
  truncate,
} from './output.js';
export * from './parsers.js';
