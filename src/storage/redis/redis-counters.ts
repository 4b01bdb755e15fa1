import type { Redis } from 'ioredis';
import type { FailureCount, FailureCounterStore } from '../contract.ts';

// Keys: <prefix>count:<key> is an integer with a PEXPIREAT at the count's end. Redis expires the
// key itself (nothing to clean up), and one key is one slot, so the scripts run on Redis Cluster.

// INCRBY and PEXPIREAT in one script: every instance sees one count, and a count never lives on
// without its expiry (a crash between two separate commands would leave it for ever).
const INCREMENT = `
local points = redis.call('INCRBY', KEYS[1], ARGV[1])
if points == tonumber(ARGV[1]) then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
return {points, redis.call('PTTL', KEYS[1])}`;

const FIND = `
local points = redis.call('GET', KEYS[1])
if not points then return false end
return {tonumber(points), redis.call('PTTL', KEYS[1])}`;

// PTTL rather than Redis 7's PEXPIRETIME: Redis 6 serves too.
const toCount = (reply: unknown): FailureCount | undefined => {
  if (!Array.isArray(reply)) return undefined;
  const [points, msLeft] = reply as [number, number];
  return { points, expiresAt: Date.now() + Math.max(msLeft, 0) };
};

/** The counters of src/storage/contract.ts in Redis: one count for every instance on this Redis. */
export function createRedisCounterStore(redis: Redis, prefix = 'tokenim:'): FailureCounterStore {
  const keyFor = (key: string) => `${prefix}count:${key}`;
  return {
    async incrementFailureCount(key, points, expiresAt) {
      return toCount(await redis.eval(INCREMENT, 1, keyFor(key), points, expiresAt))!;
    },
    async replaceFailureCount(key, points, expiresAt) {
      await redis.set(keyFor(key), points, 'PXAT', expiresAt);
      return { points, expiresAt };
    },
    async findFailureCount(key) {
      return toCount(await redis.eval(FIND, 1, keyFor(key)));
    },
    async deleteFailureCount(key) {
      return (await redis.del(keyFor(key))) === 1;
    },
  };
}
