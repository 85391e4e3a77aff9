/**
 * Where the application may send replies to MQTT 5 requests. A reply is published with the
 * app's own rights, which on an external broker reach further than the requester's, so a
 * requester may not name just any response topic: only topics under one prefix
 * (`JOB_COMMAND_REPLY_TOPIC`, default `topiq/replies`).
 */
import { topicNameProblem } from '../mqtt/topic_name.js';

/** Where replies go unless `JOB_COMMAND_REPLY_TOPIC` says otherwise. */
export const DEFAULT_REPLY_TOPIC = 'topiq/replies';

/** Whether `topic` is `prefix` or a topic under it (a level boundary, not a string prefix). */
export function isUnderTopic(topic: string, prefix: string): boolean {
  return topic === prefix || topic.startsWith(`${prefix}/`);
}

/** Whether `topic` is a topic name (no wildcard) and `prefix` or a topic under it. */
export function isReplyTopic(topic: string, prefix: string): boolean {
  return topicNameProblem(topic) === undefined && isUnderTopic(topic, prefix);
}

/** Why a request's response topic is refused: what it is, and what to use instead. */
export function replyTopicRefusal(topic: string, prefix: string): string {
  const problem = topicNameProblem(topic);
  const why = problem
    ? `which is no topic name (${problem})`
    : `outside ${prefix}/: replies go only to topics under JOB_COMMAND_REPLY_TOPIC`;
  return `asked for its reply on ${JSON.stringify(topic)}, ${why}; use a response topic like ${prefix}/<client id>, or set JOB_COMMAND_REPLY_TOPIC`;
}
