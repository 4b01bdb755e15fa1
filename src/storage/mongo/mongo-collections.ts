import type { Db } from 'mongodb';
import type { AccountRecord, ApplicationRecord, AuditEventRecord, MfaRecord, RevocationEventRecord } from '../contract.ts';
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

export type AccountDocument = Omit<AccountRecord, 'id'> & { _id: string };

export type ApplicationDocument = Omit<ApplicationRecord, 'clientId' | 'secrets' | 'postLogoutRedirectUris' | 'pendingScope'> & {
  _id: string;
  /** Stored before secrets had ids: some fields absent. */
  secrets: StoredSecret[];
  /** Absent from applications stored before RP-initiated logout could return to the app. */
  postLogoutRedirectUris?: string[];
  /** Absent from applications stored before sensitive permissions waited for approval. */
  pendingScope?: string;
};

export interface KeyringDocument {
  _id: string;
  sealed: string;
  version: number;
  updatedAt: Date;
}

export type AuditEventDocument = Omit<AuditEventRecord, 'id'> & { _id: string };

export type MfaDocument = Omit<MfaRecord, 'accountId'> & { _id: string };

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
    audit: db.collection<AuditEventDocument>('audit_events'),
    mfa: db.collection<MfaDocument>('mfa'),
    revocations: db.collection<RevocationEventRecord>('revocation_events'),
    migrations: db.collection<MigrationDocument>('migrations'),
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
    await c.applications.createIndex({ ownerId: 1 }, { name: 'by_owner', partialFilterExpression: { ownerId: { $type: 'string' } } }),
    await c.audit.createIndex({ at: 1 }, { name: 'by_time' }),
    // Revocation events matter while the tokens they name can live (minutes): kept one day.
    await c.revocations.createIndex({ at: 1 }, { name: 'by_time_ttl', expireAfterSeconds: 86_400 }),
    await c.audit.createIndex({ 'actor.id': 1, at: 1 }, { name: 'by_actor' }),
    await c.audit.createIndex({ subject: 1, at: 1 }, { name: 'by_subject' }),
    await c.audit.createIndex({ type: 1, at: 1 }, { name: 'by_type' }),
  ];
}

export const isDuplicateKey = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
