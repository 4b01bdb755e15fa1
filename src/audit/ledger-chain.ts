import { createHash } from 'node:crypto';
import type { AuditChainHead, AuditEventRecord } from '../storage/contract.ts';

// Tamper evidence (issue "Admin console and the permission ledger", item 3): each record carries its
// sequence number and the previous record's hash, and its own hash covers both, so an edited,
// deleted or reordered record breaks the chain at that record. The encoding is canonical (fixed
// field order, object keys sorted, JSON values) so that every store, and anyone holding an export,
// computes the same hash.

/** The prevHash of the first record ever. */
export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every depth; undefined members dropped, as JSON.stringify does. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  const members = Object.keys(value).sort()
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
  return `{${members.join(',')}}`;
}

/** The hash of a record: SHA-256 (hex) over its canonical encoding, prevHash included. */
export function recordHash(record: Omit<AuditEventRecord, 'hash'>): string {
  const fields = [record.seq, record.id, record.at.toISOString(), record.type, record.actor.kind, record.actor.id, record.subject,
    record.clientId, record.ip, record.userAgent, record.requestId, record.outcome, record.permissions, record.details, record.prevHash];
  return createHash('sha256').update(canonicalJson(fields)).digest('hex');
}

/** The record `fields` become when linked after `head`: next seq, time never before the head's, hashed. */
export function linkRecord(fields: Omit<AuditEventRecord, 'seq' | 'prevHash' | 'hash'>, head: AuditChainHead | undefined): AuditEventRecord {
  const at = head && head.at.getTime() > fields.at.getTime() ? head.at : fields.at;
  const linked = { ...fields, at, seq: (head?.seq ?? 0) + 1, prevHash: head?.hash ?? GENESIS_HASH };
  return { ...linked, hash: recordHash(linked) };
}

// Event types renamed when the ledger became a chain: older records are linked under today's names.
const RENAMED_TYPES: Readonly<Record<string, string>> = {
  'account.created': 'account.registered', 'account.email_verified': 'email.verified', 'account.roles_changed': 'role.changed',
  'consent.granted': 'grant.created',
};

/**
 * A record written before the chain, as the upgrade links it: under today's type name, and with its
 * own time kept in `details.recordedAt` when linking had to move it forward (time order is seq order).
 */
export function linkLegacyRecord(fields: Omit<AuditEventRecord, 'seq' | 'prevHash' | 'hash'>, head: AuditChainHead | undefined) {
  const renamed = { ...fields, type: RENAMED_TYPES[fields.type] ?? fields.type };
  const linked = linkRecord(renamed, head);
  if (linked.at.getTime() === fields.at.getTime()) return linked;
  return linkRecord({ ...renamed, details: { ...fields.details, recordedAt: fields.at.toISOString() } }, head);
}

/** Why a record does not continue the chain after `previous` (undefined: it does). */
export function chainBreak(record: AuditEventRecord, previous: Pick<AuditEventRecord, 'seq' | 'hash'>): string | undefined {
  if (record.seq !== previous.seq + 1) return `record ${previous.seq + 1} is missing (the next one is ${record.seq})`;
  if (record.prevHash !== previous.hash) return 'its link to the previous record does not match (a record before it was changed or reordered)';
  if (recordHash(record) !== record.hash) return 'its content does not match its hash (it was changed)';
  return undefined;
}
