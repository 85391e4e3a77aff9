/** The framework's own commands, in the order `npx topiq --help` lists them. */
import type { CommandClass } from '../command.js';
import { MessagesFailedCommand } from './messages_failed_command.js';
import { MessagesFlushCommand } from './messages_flush_command.js';
import { QueueClearCommand } from './queue_clear_command.js';
import { QueueFailedCommand } from './queue_failed_command.js';
import { QueueFlushCommand } from './queue_flush_command.js';
import { QueueForgetCommand } from './queue_forget_command.js';
import { QueuePruneFailedCommand } from './queue_prune_failed_command.js';
import { QueueRetryCommand } from './queue_retry_command.js';
import { QueueSizeCommand } from './queue_size_command.js';
import { QueueWorkCommand } from './queue_work_command.js';

/** Every `queue:*` command. */
export const queueCommands: readonly CommandClass[] = [
  QueueWorkCommand,
  QueueSizeCommand,
  QueueClearCommand,
  QueueFailedCommand,
  QueueRetryCommand,
  QueueForgetCommand,
  QueueFlushCommand,
  QueuePruneFailedCommand,
];

/** Every `messages:*` command (dead-lettered MQTT messages). */
export const messagesCommands: readonly CommandClass[] = [MessagesFailedCommand, MessagesFlushCommand];

export {
  MessagesFailedCommand,
  MessagesFlushCommand,
  QueueClearCommand,
  QueueFailedCommand,
  QueueFlushCommand,
  QueueForgetCommand,
  QueuePruneFailedCommand,
  QueueRetryCommand,
  QueueSizeCommand,
  QueueWorkCommand,
};
