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
import { createSqliteAuthorizationStore } from './sqlite-authorizations.ts';
import { createSqliteMfaStore } from './sqlite-mfa.ts';
import { createSqliteRevocationStore } from './sqlite-revocations.ts';
import { createSqliteFailureCounterStore } from './sqlite-failure-counters.ts';
import { createSqliteChangeCounterStore } from './sqlite-change-counters.ts';

export interface SqliteStores extends DurableStores {
  db: DatabaseSync;
  failureCounters: FailureCounterStore;
  connection: StoreConnection;
}

// Another process's ordinary write holds the lock for well under a millisecond: only a lock that
// outlasts a few attempts within this time makes the store not ready.
const READY_PROBE_MS = 100;

/**
 * Takes the write lock and lets it go at once (retried on timers, as the stores are): in WAL mode
 * a read succeeds under another connection's write lock, so only this shows that sign-ins, tokens
 * and the ledger can be written.
 */
async function probeWrite(db: DatabaseSync): Promise<void> {
  const probe = retryWhileLocked({ probe: async () => { db.exec('BEGIN IMMEDIATE'); db.exec('ROLLBACK'); } }, READY_PROBE_MS);
  try {
    await probe.probe();
  } catch (error) {
    if (isSqliteUnavailable(error)) throw new Error('cannot write: locked by another connection', { cause: error });
    throw error;
  }
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
    authorizations: retryWhileLocked(createSqliteAuthorizationStore(db)),
    mfa: retryWhileLocked(createSqliteMfaStore(db)),
    revocations: retryWhileLocked(createSqliteRevocationStore(db)),
    changeCounters: retryWhileLocked(createSqliteChangeCounterStore(db)),
    failureCounters: retryWhileLocked(createSqliteFailureCounterStore(db)),
    connection: {
      name: 'sqlite',
      ping: () => probeWrite(db),
      async close() {
        if (db.isOpen) db.close();
      },
    },
  };
}
