import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract,
  type RateLimiterStoreAbstract } from 'rate-limiter-flexible';
import type { FailureCount, FailureCounterStore } from '../storage/contract.ts';
import { guardStore, isRedisUnavailable } from '../storage/store-unavailable.ts';

/** What one atomic increment of a key's count says (FailureLimiter.count). */
export interface CountedAttempt {
  /** The count is past `points`: this attempt must not be checked. */
  isOverLimit: boolean;
  /** Seconds until the key may try again as the count now stands (the `points`-th already locks), or 0. */
  retryAfter: number;
}

/** Counts failures per key; past `points` within `windowSeconds` the key is blocked for `blockSeconds`. */
export interface FailureLimiter {
  /** Seconds until the key may try again, or 0. */
  retryAfter(key: string): Promise<number>;
  /** Counts a failure; returns retryAfter as it stands afterwards. */
  recordFailure(key: string): Promise<number>;
  /** Counts an attempt in one atomic increment of the store, which says whether the key is now past its limit. */
  count(key: string): Promise<CountedAttempt>;
  /** Takes back one counted attempt (one that turned out right). */
  uncount(key: string): Promise<void>;
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
  const count = async (key: string): Promise<CountedAttempt> => {
    try {
      return { isOverLimit: false, retryAfter: secondsLeft(await limiter.consume(hashed(key))) };
    } catch (error) {
      // The limiter rejects with RateLimiterRes past the limit, with an Error when its store fails.
      if (error instanceof RateLimiterRes) return { isOverLimit: true, retryAfter: secondsLeft(error) };
      throw error;
    }
  };
  const failureLimiter: FailureLimiter = {
    retryAfter: async (key) => secondsLeft(await limiter.get(hashed(key))),
    recordFailure: async (key) => (await count(key)).retryAfter,
    count,
    async uncount(key) {
      await limiter.reward(hashed(key));
    },
    async reset(key) {
      await limiter.delete(hashed(key));
    },
  };
  // In Redis mode the counters are in Redis: its outage is a 503, like any store's (the SQLite and
  // MongoDB stores come guarded from open-stores.ts).
  return counters.redis ? guardStore('redis', failureLimiter, isRedisUnavailable) : failureLimiter;
}

/** An attempt counted before it is checked (countAttempt). */
export type Attempt =
  | { isAllowed: false; retryAfter: number }
  | {
    isAllowed: true;
    /** The lockout that this attempt brings if it fails (it is the last one allowed), or 0. */
    retryAfterIfFailed: number;
    /** It was right: takes it back from every count (a success is not a failure). */
    uncount(): Promise<void>;
  };

/**
 * Counts an attempt against its limits *before* it is checked, so that the limit is a hard one:
 * reading the lockout, checking (argon2 takes tens of milliseconds), then counting the failure
 * lets N concurrent attempts all pass the read (NIST SP 800-63B §5.2.2 limits the failed attempts
 * per account; ASVS 5 6.3.1). Each count is one atomic increment in the store
 * that says whether the key is now past its limit, so of any number of concurrent attempts at
 * most `points` per key are checked; the others are refused with the lockout's Retry-After (and
 * stay counted: taking them back could undo the lockout's own write). A lockout already on refuses
 * before anything is counted, so hammering a locked account does not run up the hourly cap or the
 * IP's count. A failure needs nothing more: it is already counted.
 */
export async function countAttempt(limits: readonly (readonly [FailureLimiter, string])[]): Promise<Attempt> {
  const lockedFor = Math.max(0, ...(await Promise.all(limits.map(([limiter, key]) => limiter.retryAfter(key)))));
  if (lockedFor > 0) return { isAllowed: false, retryAfter: lockedFor };
  const counts = await Promise.all(limits.map(([limiter, key]) => limiter.count(key)));
  const longest = (of: CountedAttempt[]) => Math.max(0, ...of.map((counted) => counted.retryAfter));
  const over = counts.filter((counted) => counted.isOverLimit);
  if (over.length > 0) return { isAllowed: false, retryAfter: longest(over) };
  return {
    isAllowed: true,
    retryAfterIfFailed: longest(counts),
    async uncount() {
      await Promise.all(limits.map(([limiter, key]) => limiter.uncount(key)));
    },
  };
}

/** Says yes once per key and period, for every process sharing the counters. */
export interface OnceMarker {
  /** True for the first call with `key` until `seconds` have passed since it; false for the others. */
  isFirst(key: string, seconds: number): Promise<boolean>;
  /** Forgets `key`: the next call is first again. */
  release(key: string): Promise<void>;
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
    async release(key) {
      await limiter.delete(hashed(key));
    },
  };
  return counters.redis ? guardStore('redis', marker, isRedisUnavailable) : marker;
}
