import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { MODELS_KEPT_BY_HASHING_MIGRATION } from '../pre-hashing-artifacts.ts';
import { isSqliteUnavailable } from '../store-unavailable.ts';

// node:sqlite is loaded at call time so that importing this module costs nothing
// (and so that test runners that do not know the prefix-only module can still load it).
const { DatabaseSync: Database } = process.getBuiltinModule('node:sqlite');

const SCHEMA_V1 = `
CREATE TABLE oidc_artifacts (
  model TEXT NOT NULL,
  id TEXT NOT NULL,
  payload TEXT NOT NULL,
  grant_id TEXT,
  uid TEXT,
  user_code TEXT,
  expires_at INTEGER,
  consumed_at INTEGER,
  PRIMARY KEY (model, id)
) WITHOUT ROWID;
CREATE INDEX oidc_artifacts_grant ON oidc_artifacts (model, grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX oidc_artifacts_uid ON oidc_artifacts (model, uid) WHERE uid IS NOT NULL;
CREATE INDEX oidc_artifacts_user_code ON oidc_artifacts (model, user_code) WHERE user_code IS NOT NULL;
CREATE INDEX oidc_artifacts_expiry ON oidc_artifacts (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE accounts (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  email_verified INTEGER NOT NULL,
  roles TEXT NOT NULL,
  disabled INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE applications (
  client_id TEXT PRIMARY KEY,
  owner_id TEXT,
  version INTEGER NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX applications_owner ON applications (owner_id) WHERE owner_id IS NOT NULL;

CREATE TABLE keyrings (
  name TEXT PRIMARY KEY,
  sealed TEXT NOT NULL,
  version INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE audit_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  at INTEGER NOT NULL,
  type TEXT NOT NULL,
  actor_kind TEXT NOT NULL,
  actor_id TEXT,
  subject TEXT,
  client_id TEXT,
  ip TEXT,
  outcome TEXT NOT NULL,
  details TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_actor ON audit_events (actor_id, at);
CREATE INDEX audit_events_subject ON audit_events (subject, at);
CREATE INDEX audit_events_type ON audit_events (type, at);
`;

// v2: artifacts are looked up by account (connected apps, ending an account's sessions).
const SCHEMA_V2 = `
ALTER TABLE oidc_artifacts ADD COLUMN account_id TEXT;
CREATE INDEX oidc_artifacts_account ON oidc_artifacts (model, account_id) WHERE account_id IS NOT NULL;
`;

// v3: second factors.
const SCHEMA_V3 = `
CREATE TABLE mfa (
  account_id TEXT PRIMARY KEY,
  totp_secret TEXT NOT NULL,
  enabled_at INTEGER,
  last_used_step INTEGER NOT NULL,
  recovery_codes TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
`;

// v4: revocation events, read by resource servers that poll (GET /revocations).
const SCHEMA_V4 = `
CREATE TABLE revocation_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  value TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX revocation_events_at ON revocation_events (at);
`;

// v5: artifact ids are stored hashed; the rows stored under raw ids go (see pre-hashing-artifacts.ts).
const SCHEMA_V5 = `
DELETE FROM oidc_artifacts WHERE model NOT IN (${MODELS_KEPT_BY_HASHING_MIGRATION.map((model) => `'${model}'`).join(', ')});
`;

// v6: failure counters of the sign-in and second-factor limiters (src/shared/failure-limiter.ts), so
// that a lockout holds across restarts and across the processes sharing the file (NIST SP 800-63B §5.2.2).
const SCHEMA_V6 = `
CREATE TABLE failure_counters (
  key TEXT PRIMARY KEY,
  points INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX failure_counters_expiry ON failure_counters (expires_at);
`;

/** In order; index i brings user_version i to i + 1. Exported so tests can build an older file. */
export const MIGRATIONS = [SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6];

/** How long a write may wait for another connection's write lock before it is refused. */
export const LOCK_WAIT_MS = 5000;

/**
 * Opens (creating if needed) the SQLite file. WAL lets several processes on one machine share it:
 * readers never block the writer. A writer meeting another's lock fails at once (busy_timeout 0):
 * node:sqlite is synchronous, and SQLite's busy handler would sleep on the event loop, stalling
 * every request of the process; the stores wait between attempts instead (retry-while-locked.ts).
 * Only the schema migration, before the server listens, waits inside SQLite, and for LOCK_WAIT_MS at most.
 */
export function openSqliteDatabase(file: string): DatabaseSync {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file, { timeout: LOCK_WAIT_MS });
  try {
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');
    migrate(db);
  } catch (error) {
    db.close();
    if (!isSqliteUnavailable(error)) throw error;
    throw new Error(`${file} stayed locked by another connection for ${LOCK_WAIT_MS} ms; the schema could not be checked`,
      { cause: error });
  }
  db.exec('PRAGMA busy_timeout = 0');
  return db;
}

function migrate(db: DatabaseSync): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    const row = db.prepare('PRAGMA user_version').get() as { user_version: number };
    for (let version = row.user_version; version < MIGRATIONS.length; version += 1) {
      db.exec(MIGRATIONS[version]!);
      db.exec(`PRAGMA user_version = ${version + 1}`);
    }
    db.exec('COMMIT');
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

// SQLite extended result codes: SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY.
const UNIQUE_VIOLATIONS = new Set([2067, 1555]);

/** True when the error is SQLite's UNIQUE / PRIMARY KEY constraint violation. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && UNIQUE_VIOLATIONS.has((error as { errcode?: number }).errcode ?? 0);
}
