import type { ApplicationStore } from '../storage/contract.ts';

/** Last use reaches the store at most this often per key (issue 10, item 5). */
export const LAST_USE_FLUSH_INTERVAL_MS = 60_000;

export interface SecretUseTracker {
  /** Notes an accepted key in memory: no I/O, so the token endpoint never waits on a store write. */
  noteUse(clientId: string, secretId: string, at: Date): void;
  /** Writes what was noted since the last flush, one small write per key; resolves when they are stored. */
  flush(): Promise<void>;
}

/**
 * Last use of each client secret, aggregated in memory and written by flush() (on a timer and at
 * shutdown): a busy key costs one store write a minute, not one per token request. A crash loses
 * at most the last minute, which only makes "last used" older than it is.
 */
export function createSecretUseTracker(applications: Pick<ApplicationStore, 'recordSecretUse'>): SecretUseTracker {
  let pending = new Map<string, { clientId: string; secretId: string; at: Date }>();
  return {
    noteUse(clientId, secretId, at) {
      pending.set(`${clientId}\u0000${secretId}`, { clientId, secretId, at });
    },
    async flush() {
      const uses = [...pending.values()];
      pending = new Map();
      const results = await Promise.allSettled(uses.map((u) => applications.recordSecretUse(u.clientId, u.secretId, u.at)));
      // A failed write is noted again (unless a newer use was) for the next flush.
      results.forEach((result, i) => {
        const use = uses[i]!;
        const key = `${use.clientId}\u0000${use.secretId}`;
        if (result.status === 'rejected' && !pending.has(key)) pending.set(key, use);
      });
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure) throw failure.reason;
    },
  };
}
