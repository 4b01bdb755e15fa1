// The token endpoint's limit counted in leases (src/applications/token-rate-limit.ts): one store
// write per lease, never more let through than the limit, and concurrent requests share one lease
// request instead of each taking a lease (which refused a busy client far below its limit).
import { describe, expect, it } from '@jest/globals';
import { countTokenRequest, type TokenRateDeps } from '../../src/applications/token-rate-limit.ts';
import { createMemoryCounterStore } from '../../src/storage/memory-counters.ts';
import type { FailureCounterStore } from '../../src/storage/contract.ts';

function deps(perMinute: number, counters: FailureCounterStore): TokenRateDeps {
  return {
    findLimit: async () => ({ type: 'service', perMinute }),
    applications: { findApplicationByClientId: async () => undefined },
    audit: { record: async () => ({}) as never },
    tokenRateLimits: { counters, defaults: { service: 600, web: 3000, native: 3000 } },
    leases: new Map(),
    overLimit: new Set(),
  };
}

/** The memory store, answering a tick later as a real one would, counting its increments by key. */
function slowCounters() {
  const store = createMemoryCounterStore(() => NOW);
  const increments = new Map<string, number>();
  const counters: FailureCounterStore = {
    ...store,
    async incrementFailureCount(key, points, expiresAt) {
      increments.set(key.split(':')[0]!, (increments.get(key.split(':')[0]!) ?? 0) + 1);
      await new Promise((resolve) => setImmediate(resolve));
      return store.incrementFailureCount(key, points, expiresAt);
    },
  };
  return { counters, increments };
}

const NOW = Date.UTC(2026, 0, 1, 10, 0, 30);

describe('token rate limit leases', () => {
  it('lets exactly the limit through among 2,000 concurrent requests, with one store write per lease of 1/50 of it', async () => {
    const { counters, increments } = slowCounters();
    const shared = deps(1000, counters);
    const decisions = await Promise.all(Array.from({ length: 2000 }, () => countTokenRequest(shared, 'bot', NOW)));
    expect(decisions.filter((d) => d.isAllowed)).toHaveLength(1000);
    expect(decisions.find((d) => !d.isAllowed)).toEqual({ isAllowed: false, retryAfterSeconds: 30, perMinute: 1000 });
    expect(increments.get('token-rate')).toBeLessThanOrEqual(1000 / 20 + 1);
  });

  it('two processes on one counter never let more than the limit through together', async () => {
    const { counters } = slowCounters();
    const [a, b] = [deps(600, counters), deps(600, counters)];
    const decisions = await Promise.all(Array.from({ length: 800 }, (_, i) => countTokenRequest(i % 2 ? a : b, 'bot', NOW)));
    const allowed = decisions.filter((d) => d.isAllowed).length;
    expect(allowed).toBeLessThanOrEqual(600);
    expect(allowed).toBeGreaterThan(600 - 2 * 12); // at most a lease per process left unused
  });

  it('refuses a client over its limit from memory for the rest of the minute: one store write per refusal (its day count)', async () => {
    const { counters, increments } = slowCounters();
    const one = deps(5, counters);
    const decisions = [];
    for (let i = 0; i < 30; i += 1) decisions.push(await countTokenRequest(one, 'bot', NOW));
    expect(decisions.filter((d) => d.isAllowed)).toHaveLength(5);
    expect(Object.fromEntries(increments)).toEqual({ 'token-rate': 6, 'token-throttled': 25, 'token-throttled-minute': 1 });
  });

  it('lets requests through uncounted while the counters cannot be reached', async () => {
    const failing = { ...createMemoryCounterStore(), incrementFailureCount: async () => { throw new Error('Redis down'); } };
    const errors: unknown[] = [];
    const decision = await countTokenRequest({ ...deps(1, failing), onUncounted: (error) => errors.push(error) }, 'bot', NOW);
    expect(decision).toEqual({ isAllowed: true });
    expect(errors).toHaveLength(1);
  });
});
