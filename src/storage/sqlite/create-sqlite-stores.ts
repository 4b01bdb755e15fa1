import type { DatabaseSync } from 'node:sqlite';
import type { DurableStores, FailureCounterStore, StoreConnection } from '../contract.ts';
import { isSqliteUnavailable } from '../store-unavailable.ts';
import { openSqliteDatabase } from './open-sqlite.ts';
import { retryWhileLocked } from './retry-while-locked.ts';
import { createSqliteArtifactStore } from './sqlite-artifacts.ts';
import { createSqliteAccountStore } from './sqlite-accounts.ts';
import { createSqliteApplicationStore } from './sqlite-applications.ts';
import { createSqliteKeyringStore } from './sqlite-keyrings.ts';
import { createSqliteAuditStore } from './sqlite-audit.ts';
import { createSqliteMfaStore } from './sqlite-mfa.ts';
import { createSqliteRevocationStore } from './sqlite-revocations.ts';
import { createSqliteFailureCounterStore } from './sqlite-failure-counters.ts';

export interface SqliteStores extends DurableStores {
  db: DatabaseSync;
  failureCounters: FailureCounterStore;
  connection: StoreConnection;
}

/** Takes the write lock and lets it go at once: fails, without waiting, while another connection writes. */
function probeWrite(db: DatabaseSync): void {
  try {
    db.exec('BEGIN IMMEDIATE');
  } catch (error) {
    if (isSqliteUnavailable(error)) throw new Error('cannot write: locked by another connection', { cause: error });
    throw error;
  }
  db.exec('ROLLBACK');
}

export function createSqliteStores(file: string): SqliteStores {
  const db = openSqliteDatabase(file);
  return {
    db,
    artifacts: retryWhileLocked(createSqliteArtifactStore(db)),
    accounts: retryWhileLocked(createSqliteAccountStore(db)),
    applications: retryWhileLocked(createSqliteApplicationStore(db)),
    keyrings: retryWhileLocked(createSqliteKeyringStore(db)),
    audit: retryWhileLocked(createSqliteAuditStore(db)),
    mfa: retryWhileLocked(createSqliteMfaStore(db)),
    revocations: retryWhileLocked(createSqliteRevocationStore(db)),
    failureCounters: retryWhileLocked(createSqliteFailureCounterStore(db)),
    connection: {
      name: 'sqlite',
      // In WAL mode a read succeeds under another connection's write lock: only taking the lock
      // shows that sign-ins, tokens and the ledger can be written.
      async ping() {
        probeWrite(db);
      },
      async close() {
        if (db.isOpen) db.close();
      },
    },
  };
}
