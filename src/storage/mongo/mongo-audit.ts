import type { Db, Filter } from 'mongodb';
import type { AuditEventRecord, AuditStore } from '../contract.ts';
import { collections, isDuplicateKey, type LedgerDocument } from './mongo-collections.ts';

// The ledger in MongoDB: `_id` is the record's seq, so the unique _id index makes linking a
// compare-and-set: read the head, insert the next seq; a writer that lost the race reads the new
// head and links again. Indexes: src/storage/mongo/mongo-collections.ts (… , _id).

const fromLedger = ({ _id, ...rest }: LedgerDocument): AuditEventRecord => ({ seq: _id, ...rest });
const toLedger = ({ seq, ...rest }: AuditEventRecord): LedgerDocument => ({ _id: seq, ...rest });

export function createMongoAuditStore(db: Db): AuditStore {
  const { ledger } = collections(db);
  const head = () => ledger.findOne({}, { sort: { _id: -1 }, projection: { _id: 1, hash: 1, at: 1 } });
  return {
    async appendAuditEvent(link) {
      for (;;) {
        const last = await head();
        const record = link(last ? { seq: last._id, hash: last.hash, at: last.at } : undefined);
        try {
          await ledger.insertOne(toLedger(record));
          return record;
        } catch (error) {
          if (!isDuplicateKey(error)) throw error;
        }
      }
    },
    async listAuditEvents({ since, type, subject, limit }) {
      const filter: Filter<LedgerDocument> = {
        ...(since ? { at: { $gte: since } } : {}),
        ...(type ? { type } : {}),
        ...(subject ? { subject } : {}),
      };
      return (await ledger.find(filter).sort({ _id: 1 }).limit(limit).toArray()).map(fromLedger);
    },
    async queryAuditEvents({ actorId, subject, clientId, permission, type, outcome, since, until, beforeSeq, limit }) {
      const filter: Filter<LedgerDocument> = {
        ...(actorId !== undefined ? { 'actor.id': actorId } : {}),
        ...(subject !== undefined ? { subject } : {}),
        ...(clientId !== undefined ? { clientId } : {}),
        ...(permission !== undefined ? { permissions: permission } : {}),
        ...(type !== undefined ? { type } : {}),
        ...(outcome !== undefined ? { outcome } : {}),
        ...(since || until ? { at: { ...(since ? { $gte: since } : {}), ...(until ? { $lte: until } : {}) } } : {}),
        ...(beforeSeq !== undefined ? { _id: { $lt: beforeSeq } } : {}),
      };
      return (await ledger.find(filter).sort({ _id: -1 }).limit(limit).toArray()).map(fromLedger);
    },
    async firstAuditSeqSince(at) {
      return (await ledger.findOne({ at: { $gte: at } }, { sort: { at: 1, _id: 1 }, projection: { _id: 1 } }))?._id;
    },
    async readAuditChain(fromSeq, limit) {
      return (await ledger.find({ _id: { $gte: fromSeq } }).sort({ _id: 1 }).limit(limit).toArray()).map(fromLedger);
    },
    async purgeAuditEventsBefore(seq) {
      return (await ledger.deleteMany({ _id: { $lt: seq } })).deletedCount;
    },
  };
}
