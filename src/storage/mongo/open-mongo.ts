import { MongoClient, type Db } from 'mongodb';
import type { DurableStores, FailureCounterStore, StoreConnection } from '../contract.ts';
import { collections } from './mongo-collections.ts';
import { createMongoMfaStore } from './mongo-mfa.ts';
import { createMongoFailureCounterStore } from './mongo-failure-counters.ts';
import { createMongoArtifactStore } from './mongo-artifacts.ts';
import { createMongoAuditStore } from './mongo-audit.ts';
import { createMongoAuthorizationStore } from './mongo-authorizations.ts';
import { createMongoAccountStore, createMongoApplicationStore,
  createMongoKeyringStore } from './mongo-stores.ts';

export interface MongoStores extends DurableStores {
  /** The failure and rate-limit counters, shared by every process on the database. */
  failureCounters: FailureCounterStore;
  client: MongoClient;
  db: Db;
  connection: StoreConnection;
}

/**
 * `databaseName` defaults to the one in the URI's path (the driver's default, "test", when it names none).
 * Writes are acknowledged by a majority of a replica set (an account, a grant, a ledger record
 * survives the loss of the primary) unless the URI asks otherwise with `w=`; a standalone server
 * counts as its own majority.
 */
export async function openMongo(uri: string, databaseName?: string): Promise<MongoStores> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000, ...(/[?&]w=/.test(uri) ? {} : { writeConcern: { w: 'majority' } }) });
  await client.connect();
  const db = client.db(databaseName);
  return {
    client,
    db,
    artifacts: createMongoArtifactStore(collections(db).artifacts),
    accounts: createMongoAccountStore(db),
    applications: createMongoApplicationStore(db),
    keyrings: createMongoKeyringStore(db),
    audit: createMongoAuditStore(db),
    authorizations: createMongoAuthorizationStore(db),
    mfa: createMongoMfaStore(db),
    failureCounters: createMongoFailureCounterStore(db),
    changeCounters: {
      async bumpChangeCounter(name) {
        await collections(db).changeCounters.updateOne({ _id: name }, { $inc: { value: 1 } }, { upsert: true });
      },
      async readChangeCounter(name) {
        return (await collections(db).changeCounters.findOne({ _id: name }))?.value ?? 0;
      },
    },
    revocations: {
      async appendRevocation(event) {
        await collections(db).revocations.insertOne({ ...event });
      },
      async listRevocationsSince(since, limit) {
        const docs = await collections(db).revocations.find({ at: { $gte: since } }).sort({ at: 1, _id: 1 }).limit(limit).toArray();
        return docs.map(({ kind, value, at }) => ({ kind, value, at }));
      },
    },
    connection: {
      name: 'mongodb',
      async ping() {
        await db.command({ ping: 1 });
      },
      async close() {
        await client.close();
      },
    },
  };
}
