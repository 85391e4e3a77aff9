import { describe, expect, it } from 'vitest';
import { RetainedBudget } from '../../../core/broker/retained_budget.js';

describe('RetainedBudget', () => {
  it('lets a device retain up to its topic limit, and refuses a further topic', () => {
    const budget = new RetainedBudget({ maxTopics: 2, maxBytes: 1000 });
    expect(budget.retain('device:d1', 'devices/d1/a', 10)).toBeUndefined();
    expect(budget.retain('device:d1', 'devices/d1/b', 10)).toBeUndefined();
    expect(budget.retain('device:d1', 'devices/d1/c', 10)).toEqual({ reason: 'topics', limit: 2 });
    // another device has a budget of its own
    expect(budget.retain('device:d2', 'devices/d2/a', 10)).toBeUndefined();
    expect(budget.usage('device:d1')).toEqual({ topics: 2, bytes: 20 });
  });

  it('counts a topic retained again as the same place, with its new size', () => {
    const budget = new RetainedBudget({ maxTopics: 1, maxBytes: 100 });
    expect(budget.retain('device:d1', 'devices/d1/status', 60)).toBeUndefined();
    expect(budget.retain('device:d1', 'devices/d1/status', 90)).toBeUndefined();
    expect(budget.usage('device:d1')).toEqual({ topics: 1, bytes: 90 });
    expect(budget.retain('device:d1', 'devices/d1/status', 101)).toEqual({
      reason: 'bytes',
      limit: 100,
      held: 0,
    });
    // refused: the message retained before is still the one held
    expect(budget.usage('device:d1')).toEqual({ topics: 1, bytes: 90 });
  });

  it('refuses a retained message that would take the device over its bytes', () => {
    const budget = new RetainedBudget({ maxTopics: 10, maxBytes: 100 });
    expect(budget.retain('device:d1', 'devices/d1/a', 70)).toBeUndefined();
    expect(budget.retain('device:d1', 'devices/d1/b', 31)).toEqual({ reason: 'bytes', limit: 100, held: 70 });
    expect(budget.retain('device:d1', 'devices/d1/b', 30)).toBeUndefined();
  });

  it('frees the place of a topic cleared by an empty retained message, whoever sends it', () => {
    const budget = new RetainedBudget({ maxTopics: 1, maxBytes: 100 });
    expect(budget.retain('device:d1', 'devices/d1/a', 10)).toBeUndefined();
    expect(budget.retain(undefined, 'devices/d1/a', 0)).toBeUndefined(); // a service clears it
    expect(budget.usage('device:d1')).toEqual({ topics: 0, bytes: 0 });
    expect(budget.retain('device:d1', 'devices/d1/b', 10)).toBeUndefined();
    expect(budget.retain('device:d1', 'devices/d1/b', 0)).toBeUndefined(); // the device clears it
    expect(budget.retain('device:d1', 'devices/d1/c', 10)).toBeUndefined();
  });

  it("does not count services, and frees a device's place when a service retains over its topic", () => {
    const budget = new RetainedBudget({ maxTopics: 1, maxBytes: 100 });
    for (let i = 0; i < 10; i++) expect(budget.retain(undefined, `config/${i}`, 1000)).toBeUndefined();
    expect(budget.retain('device:d1', 'devices/d1/a', 10)).toBeUndefined();
    expect(budget.retain(undefined, 'devices/d1/a', 5)).toBeUndefined();
    expect(budget.usage('device:d1')).toEqual({ topics: 0, bytes: 0 });
  });

  it('refuses every retained message of a device when its limit is 0, but still lets it clear', () => {
    const budget = new RetainedBudget({ maxTopics: 0, maxBytes: 0 });
    expect(budget.retain('device:d1', 'devices/d1/a', 1)).toEqual({ reason: 'topics', limit: 0 });
    expect(budget.retain('device:d1', 'devices/d1/a', 0)).toBeUndefined();
  });
});
