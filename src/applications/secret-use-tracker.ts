import type { ApplicationStore } from '../storage/contract.ts';
import { createLastUseTracker } from '../shared/last-use-tracker.ts';

export { LAST_USE_FLUSH_INTERVAL_MS } from '../shared/last-use-tracker.ts';

export interface SecretUseTracker {
  /** Notes an accepted key in memory: no I/O, so the token endpoint never waits on a store write. */
  noteUse(clientId: string, secretId: string, at: Date): void;
  /** Writes what was noted since the last flush, one small write per key; resolves when they are stored. */
  flush(): Promise<void>;
}

/** Last use of each client secret, batched by src/shared/last-use-tracker.ts. */
export function createSecretUseTracker(applications: Pick<ApplicationStore, 'recordSecretUse'>): SecretUseTracker {
  const tracker = createLastUseTracker<{ clientId: string; secretId: string }>(
    ({ clientId, secretId }) => `${clientId}\u0000${secretId}`,
    ({ clientId, secretId }, at) => applications.recordSecretUse(clientId, secretId, at),
  );
  return {
    noteUse: (clientId, secretId, at) => tracker.noteUse({ clientId, secretId }, at),
    flush: () => tracker.flush(),
  };
}
