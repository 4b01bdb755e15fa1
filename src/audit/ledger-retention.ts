import type { AuditStore } from '../storage/contract.ts';
import type { AuditEvent, AuditLog } from './audit-log.ts';

/**
 * Retention: the only deletion of ledger records, itself recorded. The `ledger.purged` event is
 * linked first and names the first record kept and the hash it links to (the checkpoint), so that
 * `audit verify` checks the rest of the chain from there; then the older records go.
 */
export async function purgeLedger(deps: { audit: AuditLog; store: AuditStore }, before: Date, actor: AuditEvent['actor']) {
  const [last] = await deps.store.queryAuditEvents({ until: new Date(before.getTime() - 1), limit: 1 });
  if (!last) return { purged: 0 };
  const [first] = await deps.store.readAuditChain(1, 1);
  await deps.audit.record({
    type: 'ledger.purged', actor,
    details: { before: before.toISOString(), keptFromSeq: last.seq + 1, checkpointHash: last.hash, records: last.seq - first!.seq + 1 },
  });
  return { purged: await deps.store.purgeAuditEventsBefore(last.seq + 1) };
}
