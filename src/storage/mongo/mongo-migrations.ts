import type { Db } from 'mongodb';
import { collections } from './mongo-collections.ts';
import { MODELS_KEPT_BY_HASHING_MIGRATION } from '../pre-hashing-artifacts.ts';
import { accountNameKey } from '../contract.ts';
import { linkLegacyRecord } from '../../audit/ledger-chain.ts';
import { createMongoAuditStore } from './mongo-audit.ts';
import { ACCOUNT_CLIENT_ID } from '../../oidc/constants.ts';
import { authorizationBackfill } from './mongo-authorizations.ts';

// Data migrations, each run once per database: a document in `migrations` records it. Append only.
const MIGRATIONS: { name: string; run(db: Db): Promise<unknown> }[] = [
  {
    // Artifact ids are stored hashed; the ones stored under raw ids go (see pre-hashing-artifacts.ts).
    name: 'hashed-artifact-ids',
    run: (db) => collections(db).artifacts.deleteMany({ model: { $nin: [...MODELS_KEPT_BY_HASHING_MIGRATION] } }),
  },
  {
    // The chained ledger (src/audit/ledger-chain.ts): the records stored before are linked in
    // their order into audit_ledger, with no user agent, request id or permissions.
    name: 'chained-ledger',
    run: linkLegacyLedger,
  },
  {
    // The admin console searches names by a lower-cased copy (contract.ts accountNameKey).
    name: 'account-name-key',
    run: fillAccountNameKeys,
  },
  {
    // The admin console's authorization index, filled from the grants stored before it.
    name: 'authorization-index',
    run: (db) => collections(db).artifacts.aggregate(authorizationBackfill(ACCOUNT_CLIENT_ID)).toArray(),
  },
  {
    // The admin console searches application names by the same folded key.
    name: 'application-name-key',
    run: fillApplicationNameKeys,
  },
];

/**
 * Links each record of the old collection at the head of the ledger, through the store's own append
 * (so a server of the new release writing meanwhile loses nothing), then deletes it there: a run
 * that stopped halfway goes on where it stopped, and a record linked but not yet deleted is not linked twice.
 */
async function linkLegacyLedger(db: Db): Promise<void> {
  const { ledger, legacyAudit } = collections(db);
  const store = createMongoAuditStore(db);
  for await (const { _id, ...rest } of legacyAudit.find({}).sort({ at: 1, _id: 1 })) {
    if (!(await ledger.findOne({ id: _id }, { projection: { _id: 1 } }))) {
      await store.appendAuditEvent((head) => linkLegacyRecord({ ...rest, id: _id, userAgent: null, requestId: null, permissions: [] }, head));
    }
    await legacyAudit.deleteOne({ _id });
  }
}

async function fillAccountNameKeys(db: Db): Promise<void> {
  const { accounts } = collections(db);
  for await (const { _id, name } of accounts.find({ nameKey: { $exists: false } }, { projection: { name: 1 } })) {
    await accounts.updateOne({ _id }, { $set: { nameKey: accountNameKey(name) } });
  }
}

async function fillApplicationNameKeys(db: Db): Promise<void> {
  const { applications } = collections(db);
  for await (const { _id, name } of applications.find({ nameKey: { $exists: false } }, { projection: { name: 1 } })) {
    await applications.updateOne({ _id }, { $set: { nameKey: accountNameKey(name) } });
  }
}

/** Runs the migrations this database has not run yet; returns their names. */
export async function runMongoMigrations(db: Db): Promise<string[]> {
  const { migrations } = collections(db);
  const ran: string[] = [];
  for (const migration of MIGRATIONS) {
    if (await migrations.findOne({ _id: migration.name })) continue;
    // The marker is written after the run, so a run that fails is retried. Two runs at once are
    // harmless; the marker keeps a later run from deleting the hashed artifacts written since.
    await migration.run(db);
    await migrations.updateOne({ _id: migration.name }, { $setOnInsert: { ranAt: new Date() } }, { upsert: true });
    ran.push(migration.name);
  }
  return ran;
}
