import type { Db } from 'mongodb';
import { collections } from './mongo-collections.ts';
import { MODELS_KEPT_BY_HASHING_MIGRATION } from '../pre-hashing-artifacts.ts';

// Data migrations, each run once per database: a document in `migrations` records it. Append only.
const MIGRATIONS: { name: string; run(db: Db): Promise<unknown> }[] = [
  {
    // Artifact ids are stored hashed; the ones stored under raw ids go (see pre-hashing-artifacts.ts).
    name: 'hashed-artifact-ids',
    run: (db) => collections(db).artifacts.deleteMany({ model: { $nin: [...MODELS_KEPT_BY_HASHING_MIGRATION] } }),
  },
];

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
