import type { AuditEventRecord, AuditStore } from '../storage/contract.ts';
import { chainBreak, GENESIS_HASH, recordHash } from './ledger-chain.ts';

export type LedgerVerification =
  | { ok: true; records: number; head: { seq: number; hash: string } | null }
  | { ok: false; records: number; first_broken: number; reason: string };

const PAGE = 1000;

/** Where a retention purge left the chain: the purge event that names the first kept record. */
async function checkpointFor(store: AuditStore, first: AuditEventRecord): Promise<boolean> {
  for (let beforeSeq: number | undefined; ;) {
    const purges = await store.queryAuditEvents({ type: 'ledger.purged', beforeSeq, limit: 100 });
    if (purges.some(({ details }) => details.keptFromSeq === first.seq && details.checkpointHash === first.prevHash)) return true;
    if (purges.length < 100) return false;
    beforeSeq = purges.at(-1)!.seq;
  }
}

/**
 * `tokenim-auth audit verify`: walks the chain from its first record and names the first record
 * that does not continue it (edited, deleted or reordered). A ledger that a recorded retention
 * purge shortened is verified from the checkpoint that purge recorded.
 */
export async function verifyLedger(store: AuditStore): Promise<LedgerVerification> {
  let previous: Pick<AuditEventRecord, 'seq' | 'hash'> | undefined;
  let records = 0;
  for (let fromSeq = 1; ;) {
    const page = await store.readAuditChain(fromSeq, PAGE);
    for (const record of page) {
      const reason = previous ? chainBreak(record, previous) : await firstRecordBreak(store, record);
      if (reason) return { ok: false, records, first_broken: previous && record.seq > previous.seq + 1 ? previous.seq + 1 : record.seq, reason };
      previous = record;
      records += 1;
    }
    if (page.length < PAGE) break;
    fromSeq = page.at(-1)!.seq + 1;
  }
  return { ok: true, records, head: previous ? { seq: previous.seq, hash: previous.hash } : null };
}

async function firstRecordBreak(store: AuditStore, first: AuditEventRecord): Promise<string | undefined> {
  if (first.seq === 1) {
    if (first.prevHash !== GENESIS_HASH) return 'the first record does not start the chain';
  } else if (!(await checkpointFor(store, first))) {
    return `the records before ${first.seq} are gone and no recorded purge says so`;
  }
  return recordHash(first) === first.hash ? undefined : 'its content does not match its hash (it was changed)';
}
