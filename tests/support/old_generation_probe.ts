/**
 * Run by `churn_map.test.ts` in its own process (`node --expose-gc --import tsx`): keeps 50
 * entries in a long-lived `Map` or `ChurnMap`, runs a full GC (which promotes the map's
 * table, as it would in a worker that has run for a while), then replaces the entries one by
 * one 200,000 times and prints how many bytes the young GCs promoted to the old generation
 * meanwhile (what full GCs free in between does not hide them).
 *
 *   node --expose-gc --import tsx tests/support/old_generation_probe.ts map|churn-map
 */
import { GCProfiler } from 'node:v8';
import { ChurnMap } from '../../core/support/churn_map.js';

interface Entries {
  set(key: string, value: object): unknown;
  delete(key: string): boolean;
}

const kind = process.argv[2];
if (kind !== 'map' && kind !== 'churn-map') throw new Error('say map or churn-map');
const fullGc = (globalThis as { gc?: () => void }).gc;
if (!fullGc) throw new Error('run with --expose-gc');

interface GcRecord {
  gcType: string;
  beforeGC: { heapSpaceStatistics: { spaceName: string; spaceUsedSize: number }[] };
  afterGC: { heapSpaceStatistics: { spaceName: string; spaceUsedSize: number }[] };
}
const oldSpace = (stats: GcRecord['beforeGC']) =>
  stats.heapSpaceStatistics.find((space) => space.spaceName === 'old_space')!.spaceUsedSize;

const holder: { entries: Entries } = {
  entries: kind === 'map' ? new Map<string, object>() : new ChurnMap<string, object>(),
};
const entry = (i: number) => ({ i, payload: new Array(8).fill(i) });
for (let i = 0; i < 50; i++) holder.entries.set(`k${i}`, entry(i));
fullGc();
const profiler = new GCProfiler();
profiler.start();
for (let i = 50; i < 200_050; i++) {
  holder.entries.delete(`k${i - 50}`);
  holder.entries.set(`k${i}`, entry(i));
}
const { statistics } = profiler.stop() as unknown as { statistics: GcRecord[] };
let promoted = 0;
for (const gc of statistics)
  if (gc.gcType === 'Scavenge') promoted += oldSpace(gc.afterGC) - oldSpace(gc.beforeGC);
process.stdout.write(`${promoted}\n`);
