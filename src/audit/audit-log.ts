import { randomUUID } from 'node:crypto';
import type { AuditEventRecord, AuditStore } from '../storage/contract.ts';
import { currentRequest } from '../shared/request-context.ts';
import type { AuditEventType } from './audit-events.ts';
import { linkRecord } from './ledger-chain.ts';
import { ledgerAppends } from '../metrics/instruments.ts';

/**
 * What a domain function says happened. The request it came from (ip, user agent, request id)
 * is filled in from the request being served (src/shared/request-context.ts) unless given.
 */
export interface AuditEvent {
  type: AuditEventType;
  actor: AuditEventRecord['actor'];
  subject?: string | null;
  clientId?: string | null;
  ip?: string | null;
  outcome?: AuditEventRecord['outcome'];
  permissions?: readonly string[];
  details?: Record<string, unknown>;
}

/** The ledger's actor for something a signed-in person did. */
export const accountActor = (account: { id: string }): AuditEvent['actor'] => ({ kind: 'account', id: account.id });

export interface AuditLog {
  /** Links and persists the event in the durable store before the action is reported done (ASVS 5 16.3). */
  record(event: AuditEvent): Promise<AuditEventRecord>;
}

/** The one way a ledger record is written: every event goes through here, and nothing updates or deletes one. */
export function createAuditLog(store: AuditStore, now: () => Date = () => new Date()): AuditLog {
  return {
    async record(event) {
      const request = currentRequest();
      const fields = {
        id: randomUUID(),
        at: now(),
        type: event.type,
        actor: event.actor,
        subject: event.subject ?? null,
        clientId: event.clientId ?? null,
        ip: event.ip !== undefined ? event.ip : request?.ip ?? null,
        userAgent: request?.userAgent ?? null,
        requestId: request?.requestId ?? null,
        outcome: event.outcome ?? 'success',
        permissions: [...new Set(event.permissions ?? [])],
        // As JSON stores it: the hash is computed over what every store reads back.
        details: JSON.parse(JSON.stringify(event.details ?? {})) as Record<string, unknown>,
      };
      const record = await store.appendAuditEvent((head) => linkRecord(fields, head));
      ledgerAppends.inc({ type: record.type });
      return record;
    },
  };
}
