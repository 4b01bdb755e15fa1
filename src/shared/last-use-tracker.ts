/** Last use reaches the store at most this often per key (issue 10, item 5). */
export const LAST_USE_FLUSH_INTERVAL_MS = 60_000;

export interface LastUseTracker<K> {
  /** Notes a use in memory: no I/O, so the request being served never waits on a store write. */
  noteUse(key: K, at: Date): void;
  /** Writes what was noted since the last flush, one small write per key; resolves when they are stored. */
  flush(): Promise<void>;
}

/**
 * The last use of each key (a client secret, a grant), aggregated in memory and written by flush()
 * (on a timer and at shutdown): a busy key costs one store write a minute, not one per token
 * request. A crash loses at most the last minute, which only makes "last used" older than it is.
 * `identify` names the key (equal names are one key); `write` must keep a later time already stored.
 */
export function createLastUseTracker<K>(identify: (key: K) => string, write: (key: K, at: Date) => Promise<unknown>): LastUseTracker<K> {
  let pending = new Map<string, { key: K; at: Date }>();
  return {
    noteUse(key, at) {
      pending.set(identify(key), { key, at });
    },
    async flush() {
      const uses = [...pending];
      pending = new Map();
      const results = await Promise.allSettled(uses.map(([, use]) => write(use.key, use.at)));
      // A failed write is noted again (unless a newer use was) for the next flush.
      results.forEach((result, i) => {
        const [name, use] = uses[i]!;
        if (result.status === 'rejected' && !pending.has(name)) pending.set(name, use);
      });
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure) throw failure.reason;
    },
  };
}
