import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { guardStore, isRedisUnavailable } from '../storage/store-unavailable.ts';

/** Counts failures per key; past `points` within `windowSeconds` the key is blocked for `blockSeconds`. */
export interface FailureLimiter {
  /** Seconds until the key may try again, or 0. */
  retryAfter(key: string): Promise<number>;
  /** Counts a failure; returns retryAfter as it stands afterwards. */
  recordFailure(key: string): Promise<number>;
  reset(key: string): Promise<void>;
}

export interface FailureLimit {
  name: string;
  points: number;
  windowSeconds: number;
  blockSeconds: number;
}

// Keys may be emails: only their hash is kept (they would otherwise sit in Redis in clear).
const hashed = (key: string) => createHash('sha256').update(key).digest('base64url');

/** Counters in Redis when given (limits then hold across instances), else in this process. */
export function createFailureLimiter(limit: FailureLimit, redis: Redis | undefined, keyPrefix: string): FailureLimiter {
  const options = { keyPrefix: `${keyPrefix}fail-${limit.name}`, points: limit.points, duration: limit.windowSeconds,
    blockDuration: limit.blockSeconds };
  const limiter: RateLimiterAbstract = redis ? new RateLimiterRedis({ ...options, storeClient: redis }) : new RateLimiterMemory(options);
  const secondsLeft = (state: RateLimiterRes | null) =>
    state && state.consumedPoints >= limit.points ? Math.max(1, Math.ceil(state.msBeforeNext / 1000)) : 0;
  const counters: FailureLimiter = {
    retryAfter: async (key) => secondsLeft(await limiter.get(hashed(key))),
    async recordFailure(key) {
      try {
        return secondsLeft(await limiter.consume(hashed(key)));
      } catch (error) {
        // The limiter rejects with RateLimiterRes when the limit is reached, with an Error when its store fails.
        if (error instanceof RateLimiterRes) return secondsLeft(error);
        throw error;
      }
    },
    async reset(key) {
      await limiter.delete(hashed(key));
    },
  };
  // In Redis mode the counters are in Redis: its outage is a 503, like any store's.
  return redis ? guardStore('redis', counters, isRedisUnavailable) : counters;
}
