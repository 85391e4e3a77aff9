import { describe, expect, it } from 'vitest';
import { OrderedAckQueue } from '../../../core/mqtt/ordered_ack_queue.js';

function queueWith(count: number) {
  const sent: number[] = [];
  const acks = new OrderedAckQueue();
  const tickets = Array.from({ length: count }, (_, index) => acks.push(() => sent.push(index + 1)));
  return { acks, sent, tickets };
}

describe('OrderedAckQueue', () => {
  it('sends an acknowledgement as soon as its message settles when nothing earlier is pending', () => {
    const { acks, sent, tickets } = queueWith(1);
    tickets[0]!.settle();
    expect(sent).toEqual([1]);
    expect(acks.size).toBe(0);
  });

  it('holds back a settled message until every earlier message has settled', () => {
    const { acks, sent, tickets } = queueWith(3);
    tickets[2]!.settle();
    tickets[1]!.settle();
    expect(sent).toEqual([]);
    expect(acks.size).toBe(3);
    tickets[0]!.settle();
    expect(sent).toEqual([1, 2, 3]);
    expect(acks.size).toBe(0);
  });

  it('sends in arrival order whatever order messages settle in', () => {
    const { sent, tickets } = queueWith(50);
    const order = tickets.map((ticket, index) => ({ ticket, key: (index * 37) % 50 }));
    order.sort((a, b) => a.key - b.key);
    for (const { ticket } of order) ticket.settle();
    expect(sent).toEqual(Array.from({ length: 50 }, (_, index) => index + 1));
  });

  it('releases only the settled prefix and keeps the rest', () => {
    const { acks, sent, tickets } = queueWith(4);
    tickets[0]!.settle();
    tickets[1]!.settle();
    tickets[3]!.settle();
    expect(sent).toEqual([1, 2]);
    expect(acks.size).toBe(2);
  });

  it('ignores a second settle of the same message', () => {
    const { sent, tickets } = queueWith(2);
    tickets[0]!.settle();
    tickets[0]!.settle();
    expect(sent).toEqual([1]);
  });

  it('never sends the acknowledgements it dropped on clear, even if they settle later', () => {
    const { acks, sent, tickets } = queueWith(3);
    tickets[1]!.settle();
    expect(acks.clear()).toBe(3);
    for (const ticket of tickets) ticket.settle();
    expect(sent).toEqual([]);
    expect(acks.size).toBe(0);
    acks.push(() => sent.push(99)).settle();
    expect(sent).toEqual([99]);
  });

  it('keeps order across many thousands of entries (compaction does not lose any)', () => {
    const { sent, tickets } = queueWith(5000);
    for (let index = 0; index < 5000; index += 2) tickets[index + 1]!.settle();
    for (let index = 0; index < 5000; index += 2) tickets[index]!.settle();
    expect(sent).toHaveLength(5000);
    expect(sent.every((value, index) => value === index + 1)).toBe(true);
  });
});
