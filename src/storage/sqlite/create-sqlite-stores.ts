import type { DatabaseSync } from 'node:sqlite';
import type { DurableStores, StoreConnection } from '../contract.ts';
import { openSqliteDatabase } from './open-sqlite.ts';
import { createSqliteArtifactStore } from './sqlite-artifacts.ts';
import { createSqliteAccountStore } from './sqlite-accounts.ts';
import { createSqliteApplicationStore } from './sqlite-applications.ts';
import { createSqliteKeyringStore } from './sqlite-keyrings.ts';
import { createSqliteAuditStore } from './sqlite-audit.ts';
import { createSqliteMfaStore } from './sqlite-mfa.ts';
import { createSqliteRevocationStore } from './sqlite-revocations.ts';

export interface SqliteStores extends DurableStores {
  db: DatabaseSync;
  connection: StoreConnection;
}

export function createSqliteStores(file: string): SqliteStores {
  const db = openSqliteDatabase(file);
  const ping = db.prepare('SELECT 1');
  return {
    db,
    artifacts: createSqliteArtifactStore(db),
    accounts: createSqliteAccountStore(db),
    applications: createSqliteApplicationStore(db),
    keyrings: createSqliteKeyringStore(db),
    audit: createSqliteAuditStore(db),
    mfa: createSqliteMfaStore(db),
    revocations: createSqliteRevocationStore(db),
    connection: {
      name: 'sqlite',
      async ping() {
        ping.get();
      },
      async close() {
        if (db.isOpen) db.close();
      },
    },
  };
}
