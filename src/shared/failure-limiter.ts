import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract,
  type RateLimiterStoreAbstract } from 'rate-limiter-flexible';
import type { FailureCount, FailureCounterStore } from '../storage/contract.ts';
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

/** Where the counters live: Redis when given, else the store when given, else this process's memory. */
export interface FailureCounters {
  /** Redis mode: one count for every instance on this Redis. */
  redis?: Redis | undefined;
  /**
   * Without Redis: the durable store's counters, kept across restarts: the SQLite file's (one count
   * for the processes on one DATA_DIR) or MongoDB's (one count for every instance).
   */
  store?: FailureCounterStore | undefined;
  keyPrefix: string;
}

// rate-limiter-flexible's base class for limiters with a store ("Any new limiter with storage must
// be extended from RateLimiterStoreAbstract", its README): declared in its types, absent from its index.
const StoreLimiter = createRequire(import.meta.url)('rate-limiter-flexible/lib/RateLimiterStoreAbstract.js') as
  typeof RateLimiterStoreAbstract;

/**
 * rate-limiter-flexible over a FailureCounterStore: the limiter applies points, window and block as
 * it does for Redis; the store only counts (atomically, like RateLimiterRedis's script).
 */
class RateLimiterCounterStore extends StoreLimiter {
  readonly #counters: FailureCounterStore;

  constructor(options: { keyPrefix: string; points: number; duration: number; blockDuration: number }, counters: FailureCounterStore) {
    super({ ...options, storeClient: counters });
    this.#counters = counters;
  }

  _upsert(key: string, points: number, msDuration: number, forceExpire = false): Promise<FailureCount> {
    const expiresAt = Date.now() + msDuration;
    return forceExpire
      ? this.#counters.replaceFailureCount(key, points, expiresAt)
      : this.#counters.incrementFailureCount(key, points, expiresAt);
  }

  async _get(key: string): Promise<FailureCount | null> {
    return (await this.#counters.findFailureCount(key)) ?? null;
  }

  _delete(key: string): Promise<boolean> {
    return this.#counters.deleteFailureCount(key);
  }

  _getRateLimiterRes(_key: string, changedPoints: number, count: FailureCount): RateLimiterRes {
    return new RateLimiterRes(Math.max(this.points - count.points, 0), Math.max(count.expiresAt - Date.now(), 0),
      count.points, count.points === changedPoints);
  }
}

// Keys may be emails: only their hash is kept (they would otherwise sit in Redis or SQLite in clear).
const hashed = (key: string) => createHash('sha256').update(key).digest('base64url');

type LimiterOptions = { keyPrefix: string; points: number; duration: number; blockDuration: number };

const limiterOn = (counters: FailureCounters, options: LimiterOptions): RateLimiterAbstract =>
  counters.redis ? new RateLimiterRedis({ ...options, storeClient: counters.redis })
    : counters.store ? new RateLimiterCounterStore(options, counters.store)
    : new RateLimiterMemory(options);

export function createFailureLimiter(limit: FailureLimit, counters: FailureCounters): FailureLimiter {
  const limiter = limiterOn(counters, { keyPrefix: `${counters.keyPrefix}fail-${limit.name}`, points: limit.points,
    duration: limit.windowSeconds, blockDuration: limit.blockSeconds });
  const secondsLeft = (state: RateLimiterRes | null) =>
    state && state.consumedPoints >= limit.points ? Math.max(1, Math.ceil(state.msBeforeNext / 1000)) : 0;
  const failureLimiter: FailureLimiter = {
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
  // In Redis mode the counters are in Redis: its outage is a 503, like any store's (the SQLite and
  // MongoDB stores come guarded from open-stores.ts).
  return counters.redis ? guardStore('redis', failureLimiter, isRedisUnavailable) : failureLimiter;
}

/** Says yes once per key and period, for every process sharing the counters. */
export interface OnceMarker {
  /** True for the first call with `key` until `seconds` have passed since it; false for the others. */
  isFirst(key: string, seconds: number): Promise<boolean>;
}

/**
 * A count of one per key whose window is the period given: the store's atomic increment answers 1
 * to exactly one caller (across processes too), so of many concurrent callers one hears yes.
 */
export function createOnceMarker(name: string, counters: FailureCounters): OnceMarker {
  const limiter = limiterOn(counters, { keyPrefix: `${counters.keyPrefix}once-${name}`, points: 1, duration: 60, blockDuration: 0 });
  const marker: OnceMarker = {
    async isFirst(key, seconds) {
      try {
        await limiter.consume(hashed(key), 1, { customDuration: Math.max(1, Math.ceil(seconds)) });
        return true;
      } catch (error) {
        if (error instanceof RateLimiterRes) return false;
        throw error;
      }
    },
  };
  return counters.redis ? guardStore('redis', marker, isRedisUnavailable) : marker;
}
