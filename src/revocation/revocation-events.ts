import type { Redis } from 'ioredis';
import type { RevocationEventRecord, RevocationStore } from '../storage/contract.ts';
import { revocationsPublished } from '../metrics/instruments.ts';

export type RevocationKind = RevocationEventRecord['kind'];

/** The wire form of an event: what resource servers receive (pub/sub) or poll (GET /revocations). */
export interface RevocationMessage {
  kind: RevocationKind;
  value: string;
  /** Epoch milliseconds. */
  at: number;
}

export interface RevocationPublisher {
  /** Tokens of this grant, subject, client or session sign-in (`<session uid>:<client id>`) issued until now stop being accepted. */
  revoke(kind: RevocationKind, value: string): Promise<void>;
}

export const revocationChannel = (keyPrefix: string) => `${keyPrefix}revocations`;
export const toRevocationMessage = (event: RevocationEventRecord): RevocationMessage =>
  ({ kind: event.kind, value: event.value, at: event.at.getTime() });

/**
 * Publishes revocations: kept in the durable store (resource servers poll it, and one that starts
 * late catches up) and, in Redis mode, pushed on a pub/sub channel so subscribers act at once.
 */
export function createRevocationPublisher(store: RevocationStore, redis: Redis | undefined, keyPrefix: string): RevocationPublisher {
  return {
    async revoke(kind, value) {
      const event: RevocationEventRecord = { kind, value, at: new Date() };
      await store.appendRevocation(event);
      revocationsPublished.inc({ kind });
      // Best effort: the event is stored, so pollers get it even when this push fails (Redis down);
      // the revocation the caller made is not undone for it.
      await redis?.publish(revocationChannel(keyPrefix), JSON.stringify(toRevocationMessage(event))).catch(() => undefined);
    },
  };
}
