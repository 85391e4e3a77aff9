/**
 * The Redis server's clock, the one the scripts stamp records and score sets with: a time
 * compared with those scores must be read from it, not from this process's clock.
 */
import type { Redis } from 'ioredis';

/** The Redis server's time in epoch ms (`TIME`). */
export async function serverNow(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}
