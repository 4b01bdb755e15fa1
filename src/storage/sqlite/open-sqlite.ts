import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { MODELS_KEPT_BY_HASHING_MIGRATION } from '../pre-hashing-artifacts.ts';
import { isSqliteUnavailable } from '../store-unavailable.ts';
import { accountNameKey, type AuditEventRecord } from '../contract.ts';
import { linkLegacyRecord } from '../../audit/ledger-chain.ts';
import { prepareLedgerInsert } from './sqlite-audit.ts';
import { authorizationIndexSchema } from './sqlite-authorizations.ts';
import { ACCOUNT_CLIENT_ID } from '../../oidc/constants.ts';

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

// v7: the chained ledger (src/audit/ledger-chain.ts). seq is the rowid, assigned when a record is
// linked; permissions get rows of their own, so that "who obtained calls:read" is an index range.
// The records written before are linked in their order, with no user agent, request id or permissions.
const LEDGER_TABLES = `
CREATE TABLE audit_ledger (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  at INTEGER NOT NULL,
  type TEXT NOT NULL,
  actor_kind TEXT NOT NULL,
  actor_id TEXT,
  subject TEXT,
  client_id TEXT,
  ip TEXT,
  user_agent TEXT,
  request_id TEXT,
  outcome TEXT NOT NULL,
  permissions TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_ledger_at ON audit_ledger (at);
CREATE INDEX audit_ledger_actor ON audit_ledger (actor_id, seq);
CREATE INDEX audit_ledger_subject ON audit_ledger (subject, seq);
CREATE INDEX audit_ledger_client ON audit_ledger (client_id, seq);
CREATE INDEX audit_ledger_type ON audit_ledger (type, seq);
CREATE INDEX audit_ledger_outcome ON audit_ledger (outcome, seq);
CREATE TABLE audit_ledger_permissions (
  permission TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (permission, seq)
) WITHOUT ROWID;
`;

function schemaV7(db: DatabaseSync): void {
  db.exec(LEDGER_TABLES);
  const insert = prepareLedgerInsert(db);
  let head: AuditEventRecord | undefined;
  for (const row of db.prepare('SELECT * FROM audit_events ORDER BY seq').iterate() as Iterable<Record<string, string | number | null>>) {
    head = linkLegacyRecord({
      id: String(row.id), at: new Date(Number(row.at)), type: String(row.type),
      actor: { kind: row.actor_kind as AuditEventRecord['actor']['kind'], id: row.actor_id as string | null },
      subject: row.subject as string | null, clientId: row.client_id as string | null, ip: row.ip as string | null,
      userAgent: null, requestId: null, outcome: row.outcome as AuditEventRecord['outcome'], permissions: [],
      details: JSON.parse(String(row.details)) as Record<string, unknown>,
    }, head);
    insert(head);
  }
  db.exec('DROP TABLE audit_events');
}

// v8: the admin console searches accounts by name as well as email (src/accounts/admin-users.ts): a
// lower-cased copy of the name (contract.ts accountNameKey, JavaScript's case mapping, so it is filled
// here row by row rather than by SQLite's ASCII-only lower()) with an index for prefix ranges.
function schemaV8(db: DatabaseSync): void {
  db.exec("ALTER TABLE accounts ADD COLUMN name_key TEXT NOT NULL DEFAULT ''");
  const fill = db.prepare('UPDATE accounts SET name_key = ? WHERE id = ?');
  for (const row of db.prepare('SELECT id, name FROM accounts').all() as { id: string; name: string }[]) {
    fill.run(accountNameKey(row.name), row.id);
  }
  db.exec('CREATE INDEX accounts_name_key ON accounts (name_key)');
}

// v10: the authorization index of the admin console (src/storage/sqlite/sqlite-authorizations.ts), filled from the grants stored before.
const SCHEMA_V10 = authorizationIndexSchema(ACCOUNT_CLIENT_ID);

// v9: the admin console lists applications by client id and searches them by name (the same
// folded key as account names, filled row by row) and by "waiting for approval": columns beside
// the JSON record, each with an index; an owner's applications in client id order.
function schemaV9(db: DatabaseSync): void {
  db.exec(`ALTER TABLE applications ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
    ALTER TABLE applications ADD COLUMN pending_scope TEXT NOT NULL DEFAULT '';
    UPDATE applications SET pending_scope = coalesce(json_extract(data, '$.pendingScope'), '');`);
  const fill = db.prepare('UPDATE applications SET name_key = ? WHERE client_id = ?');
  for (const row of db.prepare("SELECT client_id, json_extract(data, '$.name') AS name FROM applications").all() as
    { client_id: string; name: string }[]) {
    fill.run(accountNameKey(row.name), row.client_id);
  }
  db.exec(`CREATE INDEX applications_name_key ON applications (name_key);
    CREATE INDEX applications_pending ON applications (client_id) WHERE pending_scope <> '';
    DROP INDEX applications_owner;
    CREATE INDEX applications_owner ON applications (owner_id, client_id) WHERE owner_id IS NOT NULL;`);
}

// v11: change counters (src/storage/sqlite/sqlite-change-counters.ts): the processes on this file
// learn that applications changed by reading one row, not the applications.
const SCHEMA_V11 = 'CREATE TABLE change_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;';

/** In order; index i brings user_version i to i + 1. Exported so tests can build an older file. */
export const MIGRATIONS: (string | ((db: DatabaseSync) => void))[] = [SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6,
  schemaV7, schemaV8, schemaV9, SCHEMA_V10, SCHEMA_V11];

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
      const step = MIGRATIONS[version]!;
      if (typeof step === 'string') db.exec(step);
      else step(db);
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
