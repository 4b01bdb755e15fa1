import type { DatabaseSync } from 'node:sqlite';
import type { KeyringRecord, KeyringStore } from '../contract.ts';

interface KeyringRow {
  name: string;
  sealed: string;
  version: number;
  updated_at: number;
}

const toKeyring = (row: KeyringRow | undefined): KeyringRecord | undefined =>
  row && { name: row.name, sealed: row.sealed, version: row.version, updatedAt: new Date(row.updated_at) };

export function createSqliteKeyringStore(db: DatabaseSync): KeyringStore {
  const find = db.prepare('SELECT * FROM keyrings WHERE name = ?');
  const findVersion = db.prepare('SELECT version FROM keyrings WHERE name = ?');
  const insertIfAbsent = db.prepare(
    'INSERT INTO keyrings (name, sealed, version, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING',
  );
  const replace = db.prepare(
    'UPDATE keyrings SET sealed = ?, version = version + 1, updated_at = ? WHERE name = ? AND version = ?',
  );

  return {
    async findKeyring(name) {
      return toKeyring(find.get(name) as KeyringRow | undefined);
    },
    async findKeyringVersion(name) {
      return (findVersion.get(name) as { version: number } | undefined)?.version;
    },
    async insertKeyringIfAbsent(record) {
      insertIfAbsent.run(record.name, record.sealed, record.version, record.updatedAt.getTime());
      return toKeyring(find.get(record.name) as KeyringRow | undefined)!;
    },
    async replaceKeyring(record, expectedVersion) {
      return replace.run(record.sealed, record.updatedAt.getTime(), record.name, expectedVersion).changes === 1;
    },
  };
}
