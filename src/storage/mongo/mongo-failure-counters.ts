import type { Db } from 'mongodb';
import type { FailureCount, FailureCounterStore } from '../contract.ts';
import { collections, type FailureCounterDocument } from './mongo-collections.ts';

const toCount = (doc: FailureCounterDocument | null): FailureCount | undefined =>
  doc ? { points: doc.points, expiresAt: doc.expiresAt.getTime() } : undefined;

/**
 * The counters of src/storage/contract.ts in MongoDB: one count for every process and instance on
 * the database, kept across restarts (so a lockout holds across all of them, ASVS 4 2.2.1). The
 * expiry is in the document; the TTL index `expiry_ttl` (db create-indexes) removes it afterwards.
 */
export function createMongoFailureCounterStore(db: Db, now: () => number = Date.now): FailureCounterStore {
  const { failureCounters } = collections(db);
  return {
    async incrementFailureCount(key, points, expiresAt) {
      // One findOneAndUpdate with upsert, as an update pipeline rather than $inc: a count whose window
      // is over but which the TTL monitor (about once a minute) has not removed yet must start again,
      // and deciding that in the same update keeps it atomic. Concurrent increments, from any
      // process, each see their own total; the server retries the duplicate-key race of two first
      // upserts itself (an equality filter on _id).
      const isLive = { $gt: ['$expiresAt', new Date(now())] };
      const doc = await failureCounters.findOneAndUpdate({ _id: key }, [{ $set: {
        points: { $cond: [isLive, { $add: ['$points', points] }, points] },
        expiresAt: { $cond: [isLive, '$expiresAt', new Date(expiresAt)] },
      } }], { upsert: true, returnDocument: 'after' });
      return toCount(doc)!;
    },
    async replaceFailureCount(key, points, expiresAt) {
      await failureCounters.updateOne({ _id: key }, { $set: { points, expiresAt: new Date(expiresAt) } }, { upsert: true });
      return { points, expiresAt };
    },
    async findFailureCount(key) {
      return toCount(await failureCounters.findOne({ _id: key, expiresAt: { $gt: new Date(now()) } }));
    },
    async deleteFailureCount(key) {
      return (await failureCounters.deleteOne({ _id: key })).deletedCount === 1;
    },
  };
}
