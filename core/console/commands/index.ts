/** The framework's own commands, in the order `npx topiq --help` lists them. */
import type { CommandClass } from '../command.js';
import { JobCancelCommand } from './job_cancel_command.js';
import { JobDispatchCommand } from './job_dispatch_command.js';
import { JobListCommand } from './job_list_command.js';
import { JobReleaseCommand } from './job_release_command.js';
import { JobShowCommand } from './job_show_command.js';
import { JobTypesCommand } from './job_types_command.js';
import { MessagesFailedCommand } from './messages_failed_command.js';
import { MessagesFlushCommand } from './messages_flush_command.js';
import { QueueClearCommand } from './queue_clear_command.js';
import { QueueFailedCommand } from './queue_failed_command.js';
import { QueueFlushCommand } from './queue_flush_command.js';
import { QueueForgetCommand } from './queue_forget_command.js';
import { QueuePruneFailedCommand } from './queue_prune_failed_command.js';
import { QueueRetryCommand } from './queue_retry_command.js';
import { QueueSizeCommand } from './queue_size_command.js';
import { QueueStatsCommand } from './queue_stats_command.js';
import { QueueWorkCommand } from './queue_work_command.js';
import { QueueWorkersCommand } from './queue_workers_command.js';

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

/** Steering jobs by name and id (`job:*`) and watching workers and queues. */
export const jobCommands: readonly CommandClass[] = [
  JobDispatchCommand,
  JobShowCommand,
  JobListCommand,
  JobCancelCommand,
  JobReleaseCommand,
  JobTypesCommand,
  QueueWorkersCommand,
  QueueStatsCommand,
];

/** Every `messages:*` command (dead-lettered MQTT messages). */
export const messagesCommands: readonly CommandClass[] = [MessagesFailedCommand, MessagesFlushCommand];

export {
  JobCancelCommand,
  JobDispatchCommand,
  JobListCommand,
  JobReleaseCommand,
  JobShowCommand,
  JobTypesCommand,
  MessagesFailedCommand,
  MessagesFlushCommand,
  QueueClearCommand,
  QueueFailedCommand,
  QueueFlushCommand,
  QueueForgetCommand,
  QueuePruneFailedCommand,
  QueueRetryCommand,
  QueueSizeCommand,
  QueueStatsCommand,
  QueueWorkCommand,
  QueueWorkersCommand,
};
