import { describe, expect, it } from 'vitest';
import { rejection } from '../../support/cli_rejection.js';
import {
  collectJobIds,
  ExitCode,
  parseBackoff,
  parseLeaseMs,
  parseNonNegativeNumber,
  parsePositiveInteger,
  parsePositiveNumber,
  parsePrefetch,
  parseQueueName,
  parseQueueNames,
  parseWorkerName,
  reportError,
} from '../../../core/console/index.js';
import { collectForgetIds } from '../../../core/console/commands/queue_forget_command.js';
import { collectRetryTargets } from '../../../core/console/commands/queue_retry_command.js';
import { MAX_LEASE_MS, MIN_LEASE_MS } from '../../../core/index.js';

describe('console argument parsers', () => {
  it('accept well-formed values and return them typed', () => {
    expect(parsePositiveInteger('8')).toBe(8);
    expect(parsePositiveNumber('0.5')).toBe(0.5);
    expect(parseNonNegativeNumber('0')).toBe(0);
    expect(parseQueueName('emails')).toBe('emails');
    expect(parseQueueNames('high, default,high')).toEqual(['high', 'default']);
    expect(parseBackoff('10')).toBe(10);
    expect(parseBackoff('1,5,30')).toEqual([1, 5, 30]);
    expect(parseBackoff('exp:2:600')).toMatchObject({ type: 'exponential', base: 2, max: 600 });
    expect(parseWorkerName('worker-1')).toBe('worker-1');
    expect(parseLeaseMs('30000')).toBe(30_000);
    expect(parseLeaseMs(String(MAX_LEASE_MS))).toBe(MAX_LEASE_MS);
    expect(parsePrefetch('0')).toBe(0);
    expect(parsePrefetch('10000')).toBe(10_000);
    expect(parsePrefetch('auto')).toBe('auto');
    expect(collectJobIds('b', ['a'])).toEqual(['a', 'b']);
    expect(collectRetryTargets('all', undefined)).toEqual(['all']);
    expect(collectRetryTargets('all', ['all'])).toEqual(['all']); // given twice, as an id would be
    expect(collectForgetIds('b', ['a'])).toEqual(['a', 'b']);
  });

  it.each([
    ['--concurrency', () => parsePositiveInteger('abc')],
    ['--concurrency', () => parsePositiveInteger('0')],
    ['--concurrency', () => parsePositiveInteger('2.5')],
    ['--max-jobs', () => parsePositiveInteger('12abc')],
    ['--timeout', () => parsePositiveNumber('0')],
    ['--timeout', () => parsePositiveNumber('Infinity')],
    ['--hours', () => parseNonNegativeNumber('-1')],
    ['--hours', () => parseNonNegativeNumber('')],
    ['--queue', () => parseQueueName('bad{name}')],
    ['--queue', () => parseQueueNames(' , ')],
    ['--backoff', () => parseBackoff('x')],
    ['--backoff', () => parseBackoff('1,,3')],
    ['--name', () => parseWorkerName('two words')],
    // shorter than its renewal: every job would lose its lease
    ['--lease', () => parseLeaseMs('10')],
    ['--lease', () => parseLeaseMs('3000000000')],
    ['--lease', () => parseLeaseMs(String(MAX_LEASE_MS + 1))],
    ['--lease', () => parseLeaseMs(String(MIN_LEASE_MS - 1))],
    ['--prefetch', () => parsePrefetch('-1')],
    ['--prefetch', () => parsePrefetch('1.5')],
    ['--prefetch', () => parsePrefetch('10001')],
    ['--prefetch', () => parsePrefetch('none')],
    ['--name', () => parseWorkerName('w{1}')],
    ['--name', () => parseWorkerName('-worker')],
    ['<ids...>', () => collectJobIds('bad id', undefined)],
    ['<ids...>', () => collectRetryTargets('all', ['abc'])],
    ['<ids...>', () => collectRetryTargets('abc', ['all'])],
    ['<ids...>', () => collectForgetIds('all', undefined)],
  ])('reject a bad %s value with commander’s InvalidArgumentError', (_flag, parse) => {
    const error = rejection(parse);
    expect(error.code).toBe('commander.invalidArgument');
    expect(error.message.length).toBeGreaterThan(10);
  });

  it('point queue:forget all at queue:flush, which deletes every failed job', () => {
    expect(rejection(() => collectForgetIds('all', undefined)).message).toMatch(/run queue:flush/);
  });

  it('keep the queue-name rule’s own explanation in the message', () => {
    expect(rejection(() => parseQueueName('bad{name}')).message).toMatch(
      /queue name "bad\{name\}" is not allowed/,
    );
  });

  it('produce errors that the kernel reports as usage errors with exit code 2', () => {
    const written: string[] = [];
    const code = reportError(
      rejection(() => parsePositiveInteger('0')),
      { write: (t) => written.push(t) },
    );
    expect(code).toBe(ExitCode.usage);
  });
});
