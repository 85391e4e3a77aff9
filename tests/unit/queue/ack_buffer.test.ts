/**
 * The acknowledgement buffer reports each batch's stored entries together, in order (the
 * worker turns them into one `completed` group of job events), and each refused entry alone.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { type AckEntry, AckBuffer } from '../../../core/queue/ack_buffer.js';
import type { Completion, QueueDriver, ReservedJob } from '../../../core/queue/driver.js';
import { type Logger, silentLogger } from '../../../core/logger.js';
import { capturingLogger } from '../../support/capturing_logger.js';

function entry(id: string, queue = 'q'): AckEntry {
  const job: ReservedJob = {
    id,
    name: 'EchoJob',
    queue,
    payload: '{}',
    attempt: 1,
    maxTries: 3,
    priority: 0,
    createdAt: 0,
    token: `t-${id}`,
  };
  return { lease: { id, queue, token: job.token }, result: 'null', job, value: null, durationMs: 1 };
}

/** A buffer over `driver` that records the ids of the batches stored and of the entries refused. */
function recordingBuffer(driver: QueueDriver, log: Logger = silentLogger()) {
  const stored: string[][] = [];
  const lost: string[] = [];
  const acks = new AckBuffer(driver, log, {
    stored: (entries) => stored.push(entries.map((e) => e.job.id)),
    lost: (e) => lost.push(e.job.id),
  });
  return { acks, stored, lost };
}

/** A buffer over a driver whose `complete` stores the ids in `refused` as lost leases. */
function bufferRefusing(refused: string[]) {
  const driver = {
    complete: async (completions: readonly Completion[]) =>
      completions.map((completion) => !refused.includes(completion.lease.id)),
  } as unknown as QueueDriver;
  return recordingBuffer(driver);
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

async function until(check: () => boolean) {
  while (!check()) await sleep(5);
}

function throwingOnce() {
  const calls: number[] = [];
  const driver = {
    complete: async (completions: readonly Completion[]) => {
      calls.push(completions.length);
      await sleep(5);
      return completions.map(() => true);
    },
  } as unknown as QueueDriver;
  const stored: string[] = [];
  let thrown = false;
  const acks = new AckBuffer(driver, silentLogger(), {
    stored: (entries) => {
      stored.push(...entries.map((e) => e.lease.id));
      if (!thrown) {
        thrown = true;
        throw new Error('listener broke');
      }
    },
    lost: () => {},
  });
  return { acks, calls, stored };
}

describe('AckBuffer outcomes', () => {
  it('reports the stored entries of a batch together, in order, and each refused one alone', async () => {
    const { acks, stored, lost } = bufferRefusing(['b', 'd']);
    for (const id of ['a', 'b', 'c', 'd', 'e']) acks.add(entry(id));
    await acks.flush();
    expect(stored).toEqual([['a', 'c', 'e']]);
    expect(lost).toEqual(['b', 'd']);
  });

  it('reports neither way an entry a short reply has no answer for', async () => {
    const driver = { complete: async () => [true] } as unknown as QueueDriver;
    const { acks, stored, lost } = recordingBuffer(driver);
    for (const id of ['a', 'b', 'c']) acks.add(entry(id));
    await acks.flush();
    expect(stored).toEqual([['a']]);
    expect(lost).toEqual([]);
  });

  it('reports every stored entry of a batch when every entry was stored', async () => {
    const { acks, stored, lost } = bufferRefusing([]);
    for (const id of ['a', 'b']) acks.add(entry(id));
    await acks.flush();
    expect(stored).toEqual([['a', 'b']]);
    expect(lost).toEqual([]);
  });

  it('reports no stored batch when every entry was refused', async () => {
    const { acks, stored, lost } = bufferRefusing(['a', 'b']);
    for (const id of ['a', 'b']) acks.add(entry(id));
    await acks.flush();
    expect(stored).toEqual([]);
    expect(lost).toEqual(['a', 'b']);
  });

  it('sends a batch whose call failed again as the same array, before entries added since', async () => {
    const calls: (readonly Completion[])[] = [];
    const driver = {
      complete: async (completions: readonly Completion[]) => {
        calls.push(completions);
        if (calls.length === 1) throw new Error('connection lost before the reply');
        return completions.map(() => true);
      },
    } as unknown as QueueDriver;
    const { acks, stored } = recordingBuffer(driver);
    for (const id of ['a', 'b']) acks.add(entry(id));
    await acks.flush(1);
    expect(acks.size).toBe(2);
    acks.add(entry('c'));
    await acks.flush();
    // the same array object: a driver that lost the first reply tells the call by it
    expect(calls[1]).toBe(calls[0]);
    expect(calls.map((call) => call.map((c) => c.lease.id))).toEqual([['a', 'b'], ['a', 'b'], ['c']]);
    expect(stored).toEqual([['a', 'b'], ['c']]);
  });

  it('gives up after the tries flush was given, waiting between them, logs ack.gave_up with the job ids, and keeps the batch', async () => {
    let down = true;
    const callsAt: number[] = [];
    const driver = {
      complete: async (completions: readonly Completion[]) => {
        callsAt.push(performance.now());
        if (down) throw new Error('Redis is loading the dataset in memory');
        return completions.map(() => true);
      },
    } as unknown as QueueDriver;
    const log = capturingLogger('warn');
    const { acks, stored } = recordingBuffer(driver, log.logger);
    for (const id of ['a', 'b']) acks.add(entry(id));
    await acks.flush(3);

    expect(log.events('ack.gave_up')).toEqual([
      expect.objectContaining({ count: 2, jobIds: ['a', 'b'], queues: ['q'], tries: 3 }),
    ]);
    // three calls, not more: the background's retry and the one add() schedules wait for the flush's
    expect(callsAt).toHaveLength(3);
    expect(log.events('ack.retry')).toHaveLength(3);
    // backoff of 0.2 s, then 0.4 s: not three calls in a row
    expect(callsAt.at(-1)! - callsAt[0]!).toBeGreaterThanOrEqual(500);
    expect(acks.size).toBe(2);

    down = false;
    await acks.flush();
    expect(stored).toEqual([['a', 'b']]);
  });

  it('counts only failed calls as tries: a flush of one try sends every batch of a large backlog', async () => {
    const calls: number[] = [];
    const driver = {
      complete: async (completions: readonly Completion[]) => {
        calls.push(completions.length);
        return completions.map(() => true);
      },
    } as unknown as QueueDriver;
    const log = capturingLogger('warn');
    const { acks, stored } = recordingBuffer(driver, log.logger);
    for (let i = 0; i < 2500; i++) acks.add(entry(`j${i}`));
    await acks.flush(1);

    expect(calls).toEqual([1000, 1000, 500]);
    expect(stored.flat()).toHaveLength(2500);
    expect(acks.size).toBe(0);
    expect(log.events('ack.gave_up')).toEqual([]);
  });

  it('takes over a waiting background retry when it is due, not a whole backoff after the flush begins', async () => {
    let down = true;
    const calls: number[] = [];
    const driver = {
      complete: async (completions: readonly Completion[]) => {
        calls.push(Date.now());
        if (down) throw new Error('WRONGTYPE');
        return completions.map(() => true);
      },
    } as unknown as QueueDriver;
    const { acks, stored } = recordingBuffer(driver);
    acks.add(entry('a'));
    // failed calls in the background at 0, 0.2 and 0.6 s: the next is due 0.8 s after the third
    while (calls.length < 3) await new Promise((resolve) => setTimeout(resolve, 10));
    const thirdAt = calls[2]!;
    down = false;
    await new Promise((resolve) => setTimeout(resolve, 600));
    await acks.flush();
    expect(stored).toEqual([['a']]);
    expect(calls).toHaveLength(4);
    expect(calls[3]! - thirdAt).toBeGreaterThanOrEqual(750);
    expect(calls[3]! - thirdAt).toBeLessThan(1100);
  });

  it('acknowledges each queue on its own: a queue whose calls fail holds back its own entries only, and their leases are listed for renewal', async () => {
    const calls: string[][] = [];
    const driver = {
      complete: async (completions: readonly Completion[]) => {
        calls.push(completions.map((c) => c.lease.id));
        if (completions.some((c) => c.lease.queue === 'broken')) throw new Error('WRONGTYPE');
        return completions.map(() => true);
      },
    } as unknown as QueueDriver;
    const log = capturingLogger('warn');
    const { acks, stored } = recordingBuffer(driver, log.logger);
    acks.add(entry('x', 'broken'));
    acks.add(entry('a'));
    acks.add(entry('b'));
    await acks.flush(2);
    acks.add(entry('c'));
    await acks.flush(2);

    expect(stored).toEqual([['a', 'b'], ['c']]);
    expect(calls.filter((call) => call.includes('x')).every((call) => call.length === 1)).toBe(true);
    expect(acks.size).toBe(1);
    expect(acks.leases).toEqual([{ id: 'x', queue: 'broken', token: 't-x' }]);
    expect(log.events('ack.retry')[0]).toMatchObject({ queue: 'broken', count: 1 });
    expect(log.events('ack.gave_up').at(-1)).toMatchObject({ jobIds: ['x'], queues: ['broken'] });
  });

  it("flushes a queue's first completion added while another queue's lane is being flushed", async () => {
    const driver = {
      // every call answers after a while: the second lane's is still in flight when the first's answers
      complete: async (completions: readonly Completion[]) => {
        await new Promise((resolve) => setTimeout(resolve, completions[0]!.lease.queue === 'q' ? 20 : 60));
        return completions.map(() => true);
      },
    } as unknown as QueueDriver;
    const { acks, stored } = recordingBuffer(driver);
    acks.add(entry('a'));
    const flushed = acks.flush();
    await new Promise((resolve) => setTimeout(resolve, 5));
    acks.add(entry('b', 'other')); // a lane the flush did not see when it began
    await flushed;
    expect(stored).toEqual([['a'], ['b']]);
  });
});

describe('AckBuffer.flush with a call in flight at its end', () => {
  it('waits for the call of a lane out of tries that its background retry made meanwhile, and logs what is unsent then', async () => {
    let brokenHangs = false;
    let brokenCalls = 0;
    const releaseBroken = deferred();
    const okGates: ReturnType<typeof deferred>[] = [];
    const driver = {
      complete: async (completions: readonly Completion[]) => {
        if (completions[0]!.lease.queue === 'broken') {
          brokenCalls++;
          // a Redis that is slow to refuse (a call that times out, say)
          if (brokenHangs) await releaseBroken.promise;
          throw new Error('WRONGTYPE');
        }
        const gate = deferred();
        okGates.push(gate);
        await gate.promise;
        return completions.map(() => true);
      },
    } as unknown as QueueDriver;
    const log = capturingLogger('warn');
    const acks = new AckBuffer(driver, log.logger, { stored: () => {}, lost: () => {} });

    acks.add(entry('x', 'broken'));
    await until(() => brokenCalls === 1);
    for (let i = 0; i < 1500; i++) acks.add(entry(`j${i}`, 'ok'));
    await until(() => okGates.length === 1);
    const flushed = acks.flush(2);
    let flushDone = false;
    void flushed.then(() => (flushDone = true));

    // round 1: the broken lane's try fails; the ok lane's first batch answers after a while
    const before = brokenCalls;
    await until(() => brokenCalls > before);
    await sleep(50);
    okGates[0]!.resolve();
    await until(() => okGates.length === 2); // the ok lane's second batch, in flight
    // round 2: the broken lane's second try fails; its tries are used up
    const before2 = brokenCalls;
    await until(() => brokenCalls > before2);
    // its background retry comes due while the ok lane's batch is still in flight, and hangs
    brokenHangs = true;
    const before3 = brokenCalls;
    await until(() => brokenCalls > before3);
    okGates[1]!.resolve();
    // the broken lane's call in flight answers (refused) a moment after the ok lane is done
    setTimeout(() => releaseBroken.resolve(), 50);
    await flushed;

    expect(flushDone).toBe(true);
    // what is still unsent once the calls in flight have answered is logged, and counted
    expect(log.events('ack.gave_up').map((line) => line.jobIds)).toEqual([['x']]);
    expect(acks.size).toBe(1);
  }, 15_000);
});

describe('AckBuffer with a stored() listener that throws once', () => {
  it('logs the failure, sends the rest of the backlog, and resolves flush()', async () => {
    const { acks, calls, stored } = throwingOnce();
    for (let i = 0; i < 1500; i++) acks.add(entry(`j${i}`));
    const outcome = await acks.flush().then(
      () => 'resolved',
      (error: Error) => `rejected: ${error.message}`,
    );
    await sleep(100);
    expect({ outcome, calls, stored: stored.length, size: acks.size }).toEqual({
      outcome: 'resolved',
      calls: [1000, 500],
      stored: 1500,
      size: 0,
    });
  });

  it('a background send whose listener throws is no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.prependListener('unhandledRejection', onUnhandled);
    try {
      const { acks, stored } = throwingOnce();
      acks.add(entry('a'));
      await sleep(100);
      expect(stored).toEqual(['a']);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('AckBuffer with an outcome listener that throws', () => {
  it('still reports the refused entries of the batch whose stored() threw as lost', async () => {
    const driver = {
      complete: async (completions: readonly Completion[]) =>
        completions.map((c) => c.lease.id !== 'refused'),
    } as unknown as QueueDriver;
    const lost: string[] = [];
    const acks = new AckBuffer(driver, silentLogger(), {
      stored: () => {
        throw new Error('listener broke');
      },
      lost: (e) => lost.push(e.job.id),
    });
    acks.add(entry('a'));
    acks.add(entry('refused'));
    await acks.flush();
    expect(lost).toEqual(['refused']);
  });

  it('still reports the other refused entries when lost() throws for one', async () => {
    const driver = {
      complete: async (completions: readonly Completion[]) => completions.map(() => false),
    } as unknown as QueueDriver;
    const lost: string[] = [];
    const acks = new AckBuffer(driver, silentLogger(), {
      stored: () => {},
      lost: (e) => {
        lost.push(e.job.id);
        if (e.job.id === 'r1') throw new Error('listener broke');
      },
    });
    acks.add(entry('r1'));
    acks.add(entry('r2'));
    await acks.flush();
    expect(lost).toEqual(['r1', 'r2']);
  });
});
