/** Topic names Topiq publishes to: a broker closes the connection of a client that publishes to a filter. */
import { describe, expect, it } from 'vitest';
import { isTopiqError } from '../../../core/errors.js';
import { assertTopicName, topicNameProblem } from '../../../core/mqtt/topic_name.js';

describe('topic names to publish to', () => {
  it('accepts plain names, $-topics and unicode, and refuses empty names, wildcards, NUL and over-long names', () => {
    for (const topic of ['devices/d1/commands', 'a', '/', 'a//b', '$SYS/x', 'température/ü']) {
      expect(topicNameProblem(topic), topic).toBeUndefined();
    }
    expect(topicNameProblem('')).toMatch(/empty/);
    expect(topicNameProblem('replies/+')).toMatch(/wildcard/);
    expect(topicNameProblem('replies/#')).toMatch(/wildcard/);
    expect(topicNameProblem('a+b')).toMatch(/wildcard/);
    expect(topicNameProblem('a\u0000b')).toMatch(/NUL/);
    expect(topicNameProblem('é'.repeat(40_000))).toMatch(/65,535 bytes/);
  });

  it('throws E_INVALID_TOPIC naming the topic and what to do', () => {
    let caught: unknown;
    try {
      assertTopicName('devices/+/commands');
    } catch (error) {
      caught = error;
    }
    expect(isTopiqError(caught, 'E_INVALID_TOPIC')).toBe(true);
    expect((caught as Error).message).toMatch(
      /"devices\/\+\/commands": it holds a wildcard .* plain topic name/,
    );
  });
});
