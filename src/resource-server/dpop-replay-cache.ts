import type { Redis } from 'ioredis';

/**
 * Remembers the DPoP proofs a resource server has accepted, for as long as they could be accepted
 * (RFC 9449 §11.1). `useOnce` is atomic: true for exactly one caller of a key while it lives.
 */
export interface ReplayCache {
  useOnce(key: string, ttlSeconds: number): Promise<boolean>;
}

/** One process: enough for a single instance. Expired keys are dropped as new ones arrive. */
export function createMemoryReplayCache(now: () => number = Date.now): ReplayCache {
  const expiresAt = new Map<string, number>();
  let nextSweep = 0;
  return {
    async useOnce(key, ttlSeconds) {
      const time = now();
      if (time >= nextSweep) {
        for (const [stored, expiry] of expiresAt) if (expiry <= time) expiresAt.delete(stored);
        nextSweep = time + 10_000;
      }
      if ((expiresAt.get(key) ?? 0) > time) return false;
      expiresAt.set(key, time + ttlSeconds * 1000);
      return true;
    },
  };
}

/** The cache cannot answer (Redis down): the proof can be neither accepted nor refused. */
export class ReplayCacheUnavailableError extends Error {
  constructor(cause: unknown) {
    super('the DPoP replay cache is not answering', { cause });
    this.name = 'ReplayCacheUnavailableError';
  }
}

/** Shared by every instance of the resource server: SET NX with an expiry is one atomic step. */
export function createRedisReplayCache(redis: Redis, keyPrefix: string): ReplayCache {
  return {
    async useOnce(key, ttlSeconds) {
      try {
        return (await redis.set(`${keyPrefix}${key}`, '1', 'EX', ttlSeconds, 'NX')) === 'OK';
      } catch (error) {
        throw new ReplayCacheUnavailableError(error);
      }
    },
  };
}
