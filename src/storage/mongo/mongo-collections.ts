import type { Db } from 'mongodb';
import type { AccountRecord, AuthorizationRecord, ApplicationRecord, AuditEventRecord, MfaRecord, RevocationEventRecord } from '../contract.ts';
import type { StoredSecret } from '../stored-secret.ts';

export interface ArtifactDocument {
  _id: string; // `${model}:${id}`
  model: string;
  payload: Record<string, unknown>;
  grantId: string | null;
  accountId?: string | null;
  uid: string | null;
  userCode: string | null;
  expiresAt: Date | null;
  consumedAt?: Date | null;
}

/** `nameKey`: contract.ts accountNameKey(name), for the admin console's prefix search (absent until the `account-name-key` migration ran). */
export type AccountDocument = Omit<AccountRecord, 'id'> & { _id: string; nameKey?: string };

export type ApplicationDocument = Omit<ApplicationRecord, 'clientId' | 'secrets' | 'postLogoutRedirectUris' | 'pendingScope'
  | 'disabledAt' | 'refusedScope' | 'tokenRateLimitPerMinute'> & {
  _id: string;
  /** Stored before secrets had ids: some fields absent. */
  secrets: StoredSecret[];
  /** Absent from applications stored before RP-initiated logout could return to the app. */
  postLogoutRedirectUris?: string[];
  /** Absent from applications stored before sensitive permissions waited for approval. */
  pendingScope?: string;
  /** Absent from applications stored before administrators could disable them or refuse permissions. */
  disabledAt?: Date | null;
  refusedScope?: string;
  /** Absent from applications stored before per-application rate limits. */
  tokenRateLimitPerMinute?: number | null;
  /** contract.ts accountNameKey(name), for the admin console's search (absent until the `application-name-key` migration ran). */
  nameKey?: string;
};

export interface KeyringDocument {
  _id: string;
  sealed: string;
  version: number;
  updatedAt: Date;
}

/** A ledger record; its seq is the _id. */
export type LedgerDocument = Omit<AuditEventRecord, 'seq'> & { _id: number };

/** A ledger record as stored before the chain (read once, by the 'chained-ledger' migration). */
export type LegacyAuditDocument = Omit<AuditEventRecord, 'id' | 'seq' | 'userAgent' | 'requestId' | 'permissions' | 'prevHash' | 'hash'>
  & { _id: string };

export type MfaDocument = Omit<MfaRecord, 'accountId'> & { _id: string };

/** One row of the authorization index; the grant id is the _id. */
export type AuthorizationDocument = Omit<AuthorizationRecord, 'grantId'> & { _id: string };

/** A change counter (src/storage/change-feed.ts): `_id` is its name. */
export interface ChangeCounterDocument {
  _id: string;
  value: number;
}

/** A failure count (src/storage/contract.ts FailureCounterStore): `_id` is its key; MongoDB removes it after `expiresAt`. */
export interface FailureCounterDocument {
  _id: string;
  points: number;
  expiresAt: Date;
}

/** One per data migration that has run (src/storage/mongo/mongo-migrations.ts). */
export interface MigrationDocument {
  _id: string;
  ranAt: Date;
}

export function collections(db: Db) {
  return {
    artifacts: db.collection<ArtifactDocument>('oidc_artifacts'),
    accounts: db.collection<AccountDocument>('accounts'),
    applications: db.collection<ApplicationDocument>('applications'),
    keyrings: db.collection<KeyringDocument>('keyrings'),
    ledger: db.collection<LedgerDocument>('audit_ledger'),
    legacyAudit: db.collection<LegacyAuditDocument>('audit_events'),
    mfa: db.collection<MfaDocument>('mfa'),
    revocations: db.collection<RevocationEventRecord>('revocation_events'),
    migrations: db.collection<MigrationDocument>('migrations'),
    authorizations: db.collection<AuthorizationDocument>('authorizations'),
    changeCounters: db.collection<ChangeCounterDocument>('change_counters'),
    failureCounters: db.collection<FailureCounterDocument>('failure_counters'),
  };
}

/**
 * Creates every index the stores rely on. An explicit step (`tokenim-auth db create-indexes`),
 * never done implicitly at request time: index builds on a busy production collection are an
 * operator's decision.
 */
export async function createMongoIndexes(db: Db): Promise<string[]> {
  const c = collections(db);
  const notNull = (field: string) => ({ partialFilterExpression: { [field]: { $type: 'string' } } });
  return [
    // TTL index: MongoDB deletes expired artifacts itself (its monitor runs about once a minute;
    // reads already hide expired ones).
    await c.artifacts.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0, name: 'expiry_ttl' }),
    await c.artifacts.createIndex({ model: 1, grantId: 1 }, { name: 'by_grant', ...notNull('grantId') }),
    await c.artifacts.createIndex({ model: 1, uid: 1 }, { name: 'by_uid', ...notNull('uid') }),
    await c.artifacts.createIndex({ model: 1, accountId: 1 }, { name: 'by_account', ...notNull('accountId') }),
    await c.artifacts.createIndex({ model: 1, userCode: 1 }, { name: 'by_user_code', ...notNull('userCode') }),
    await c.accounts.createIndex({ email: 1 }, { unique: true, name: 'email_unique' }),
    // `users list [--role R]`: oldest first, by role (a multikey index over the roles array).
    await c.accounts.createIndex({ roles: 1, createdAt: 1 }, { name: 'by_role' }),
    await c.accounts.createIndex({ createdAt: 1 }, { name: 'by_creation' }),
    // The admin console's search: prefix ranges of the name key (the email one uses email_unique).
    await c.accounts.createIndex({ nameKey: 1 }, { name: 'by_name_key' }),
    await c.applications.createIndex({ ownerId: 1 }, { name: 'by_owner', partialFilterExpression: { ownerId: { $type: 'string' } } }),
    // The admin console's list of applications (in _id order): one owner's, a name prefix, those
    // waiting for approval (partial: only they are in it).
    await c.applications.createIndex({ ownerId: 1, _id: 1 }, { name: 'by_owner_client',
      partialFilterExpression: { ownerId: { $type: 'string' } } }),
    await c.applications.createIndex({ nameKey: 1 }, { name: 'by_name_key' }),
    await c.applications.createIndex({ pendingScope: 1 }, { name: 'pending_approval',
      partialFilterExpression: { pendingScope: { $gt: '' } } }),
    // Revocation events matter while the tokens they name can live (minutes): kept one day.
    await c.revocations.createIndex({ at: 1 }, { name: 'by_time_ttl', expireAfterSeconds: 86_400 }),
    // The ledger: newest first (_id is the seq) within each filter; a time range narrows by `at`.
    await c.ledger.createIndex({ id: 1 }, { unique: true, name: 'id_unique' }),
    await c.ledger.createIndex({ at: 1 }, { name: 'by_time' }),
    await c.ledger.createIndex({ 'actor.id': 1, _id: -1 }, { name: 'by_actor' }),
    await c.ledger.createIndex({ subject: 1, _id: -1 }, { name: 'by_subject' }),
    await c.ledger.createIndex({ clientId: 1, _id: -1 }, { name: 'by_client' }),
    await c.ledger.createIndex({ type: 1, _id: -1 }, { name: 'by_type' }),
    await c.ledger.createIndex({ outcome: 1, _id: -1 }, { name: 'by_outcome' }),
    await c.ledger.createIndex({ permissions: 1, _id: -1 }, { name: 'by_permission' }),
    // The authorization index (admin console): newest first, by person, application or permission
    // (multikey: one entry per permission); MongoDB drops a row when its grant expires.
    await c.authorizations.createIndex({ createdAt: -1, _id: -1 }, { name: 'by_creation' }),
    await c.authorizations.createIndex({ accountId: 1, createdAt: -1, _id: -1 }, { name: 'by_account' }),
    await c.authorizations.createIndex({ clientId: 1, createdAt: -1, _id: -1 }, { name: 'by_client' }),
    await c.authorizations.createIndex({ permissions: 1, createdAt: -1, _id: -1 }, { name: 'by_permission' }),
    await c.authorizations.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0, name: 'expiry_ttl' }),
    // Failure and rate-limit counts: MongoDB removes each once its window is over (reads already ignore it).
    await c.failureCounters.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0, name: 'expiry_ttl' }),
  ];
}

export const isDuplicateKey = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
