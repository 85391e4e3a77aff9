import { describe, expect, it } from 'vitest';
import { NaiveRegexRouter } from '../../../bench/routing_bench.js';
import { TrieRouter } from '../../../core/routing/index.js';
import { describeTopicRouterContract } from './router_contract.js';

// The bench compares the trie with this baseline; both must answer alike for the
// comparison to mean anything.
describeTopicRouterContract('NaiveRegexRouter (bench baseline)', () => new NaiveRegexRouter());

function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state / 2 ** 32;
  };
}

describe('TrieRouter against the regex baseline', () => {
  it('returns the same matches in the same order for random patterns and topics', () => {
    const next = random(7);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const words = ['a', 'b', '$c', ''];
    const patternLevels = [...words, '+', '{p}'];
    const trie = new TrieRouter<number>();
    const naive = new NaiveRegexRouter<number>();
    for (let id = 0; id < 300; id++) {
      const depth = 1 + Math.floor(next() * 4);
      const used = new Set<string>();
      const levels = Array.from({ length: depth }, (_, index) => {
        const level = pick(patternLevels);
        if (level !== '{p}') return level;
        used.add(`p${index}`);
        return `{p${index}}`;
      });
      if (next() < 0.3) levels.push(next() < 0.5 ? '#' : '{rest*}');
      const pattern = levels.join('/');
      if (pattern === '') continue;
      trie.add(pattern, id);
      naive.add(pattern, id);
    }
    for (let i = 0; i < 2000; i++) {
      const topic = Array.from({ length: 1 + Math.floor(next() * 5) }, () => pick(words)).join('/');
      const fromTrie = trie.match(topic).map((m) => [m.handler, { ...m.params }]);
      const fromNaive = naive.match(topic).map((m) => [m.handler, { ...m.params }]);
      expect(fromTrie, topic).toEqual(fromNaive);
    }
  });
});
