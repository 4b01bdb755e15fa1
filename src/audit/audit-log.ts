import { randomUUID } from 'node:crypto';
import type { AuditEventRecord, AuditStore } from '../storage/contract.ts';

export type AuditEvent = Pick<AuditEventRecord, 'type' | 'actor'> & Partial<Omit<AuditEventRecord, 'id' | 'at' | 'type' | 'actor'>>;

/** The ledger's actor for something a signed-in person did. */
export const accountActor = (account: { id: string }): AuditEvent['actor'] => ({ kind: 'account', id: account.id });

export interface AuditLog {
  /** Persists the event in the durable store before the action is reported done (ASVS 16.3). */
  record(event: AuditEvent): Promise<void>;
}

export function createAuditLog(store: AuditStore, now: () => Date = () => new Date()): AuditLog {
  return {
    async record(event) {
      await store.appendAuditEvent({
        id: randomUUID(),
        at: now(),
        subject: null,
        clientId: null,
        ip: null,
        outcome: 'success',
        details: {},
        ...event,
      });
    },
  };
}
