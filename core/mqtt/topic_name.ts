/**
 * Topic names a client may publish to. MQTT forbids the wildcards `+` and `#`, NUL and the empty
 * name there (filters are for subscribing), and a broker answers such a PUBLISH by closing the
 * connection: a QoS 1 publish is then resent after every reconnect, and each time the client is
 * thrown off again. So Topiq checks before it publishes.
 */
import { InvalidTopicError } from '../errors.js';

/** What makes `topic` no topic name to publish to, or undefined when it is one. */
export function topicNameProblem(topic: string): string | undefined {
  if (topic.length === 0) return 'it is empty';
  if (/[+#]/.test(topic)) return 'it holds a wildcard (+ or #), which only subscriptions may use';
  if (topic.includes('\u0000')) return 'it holds a NUL character';
  // at most 3 bytes per UTF-16 unit: only a long name needs counting
  if (topic.length > 21_845 && Buffer.byteLength(topic) > 65_535) return 'it is longer than 65,535 bytes';
  return undefined;
}

/**
 * Throws `E_INVALID_TOPIC` unless `topic` is a topic name a client may publish to.
 *
 * @example
 * assertTopicName(`devices/${deviceId}/commands`);
 */
export function assertTopicName(topic: string): void {
  const problem = topicNameProblem(topic);
  if (problem) {
    throw new InvalidTopicError(
      `cannot publish to ${JSON.stringify(topic)}: ${problem}; publish to a plain topic name such as devices/d1/commands`,
    );
  }
}
