import type { FailureCount, FailureCounterStore } from './contract.ts';

/**
 * The counters in this process's memory, for unit tests: a running server always has shared ones
 * (Redis, else the durable store's: src/storage/open-stores.ts).
 */
export function createMemoryCounterStore(now: () => number = Date.now): FailureCounterStore {
  const counts = new Map<string, FailureCount>();
  const live = (key: string) => {
    const count = counts.get(key);
    if (count && count.expiresAt <= now()) counts.delete(key);
    return count && count.expiresAt > now() ? count : undefined;
  };
  return {
    async incrementFailureCount(key, points, expiresAt) {
      // Per-minute keys are never read again once their minute is over: sweep them now and then.
      if (counts.size > 10_000) for (const [k, c] of counts) if (c.expiresAt <= now()) counts.delete(k);
      const current = live(key);
      const next = current ? { points: current.points + points, expiresAt: current.expiresAt } : { points, expiresAt };
      counts.set(key, next);
      return next;
    },
    async replaceFailureCount(key, points, expiresAt) {
      counts.set(key, { points, expiresAt });
      return { points, expiresAt };
    },
    findFailureCount: async (key) => live(key),
    deleteFailureCount: async (key) => counts.delete(key),
  };
}
