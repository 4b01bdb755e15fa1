import type { DatabaseSync } from 'node:sqlite';
import { DuplicateError, type ApplicationRecord, type ApplicationStore } from '../contract.ts';
import { readStoredSecret, recordUseByRewrite, updateWithVersionCheck, type StoredSecret } from '../stored-secret.ts';
import { isUniqueViolation } from './open-sqlite.ts';

type StoredApplication = Omit<ApplicationRecord, 'secrets' | 'postLogoutRedirectUris' | 'pendingScope' | 'revokedAt' | 'createdAt' | 'updatedAt' | 'version'> & {
  secrets: StoredSecret[];
  /** Absent from applications stored before RP-initiated logout could return to the app. */
  postLogoutRedirectUris?: string[];
  /** Absent from applications stored before sensitive permissions waited for approval. */
  pendingScope?: string;
  revokedAt: string | null;
  createdAt: string;
  updatedAt: string;
};

function encode(application: ApplicationRecord): string {
  const { version: _version, ...rest } = application;
  const stored: StoredApplication = {
    ...rest,
    // JSON.stringify writes the dates as ISO strings.
    secrets: application.secrets,
    revokedAt: application.revokedAt?.toISOString() ?? null,
    createdAt: application.createdAt.toISOString(),
    updatedAt: application.updatedAt.toISOString(),
  };
  return JSON.stringify(stored);
}

function decode(row: { data: string; version: number } | undefined): ApplicationRecord | undefined {
  if (!row) return undefined;
  const stored = JSON.parse(row.data) as StoredApplication;
  const secrets = stored.secrets.map(readStoredSecret);
  return {
    ...stored,
    postLogoutRedirectUris: stored.postLogoutRedirectUris ?? [],
    pendingScope: stored.pendingScope ?? '',
    secrets,
    revokedAt: stored.revokedAt === null ? null : new Date(stored.revokedAt),
    createdAt: new Date(stored.createdAt),
    updatedAt: new Date(stored.updatedAt),
    version: row.version,
  };
}

export function createSqliteApplicationStore(db: DatabaseSync): ApplicationStore {
  const insert = db.prepare('INSERT INTO applications (client_id, owner_id, version, data) VALUES (?, ?, ?, ?)');
  const byClientId = db.prepare('SELECT data, version FROM applications WHERE client_id = ?');
  const byOwner = db.prepare('SELECT data, version FROM applications WHERE owner_id = ? ORDER BY rowid');
  const all = db.prepare('SELECT data, version FROM applications ORDER BY rowid LIMIT ?');
  // One statement: the secret's array index is found inside the UPDATE, and a later time is kept
  // (ISO strings order as the times they name).
  const recordUse = db.prepare(`
    UPDATE applications SET version = version + 1, data = json_set(data, '$.secrets[' || s.key || '].lastUsedAt', ?)
    FROM (SELECT key, json_extract(value, '$.lastUsedAt') AS lastUsedAt FROM applications, json_each(data, '$.secrets')
          WHERE client_id = ? AND json_extract(value, '$.id') = ?) AS s
    WHERE client_id = ? AND (s.lastUsedAt IS NULL OR s.lastUsedAt < ?)`);
  const hasSecret = db.prepare(
    "SELECT 1 FROM applications, json_each(data, '$.secrets') WHERE client_id = ? AND json_extract(value, '$.id') = ?");
  const replace = db.prepare(
    'UPDATE applications SET owner_id = ?, data = ?, version = version + 1 WHERE client_id = ? AND version = ?',
  );

  return {
    async insertApplication(application) {
      try {
        insert.run(application.clientId, application.ownerId, application.version, encode(application));
      } catch (error) {
        if (isUniqueViolation(error)) throw new DuplicateError('application');
        throw error;
      }
    },
    async findApplicationByClientId(clientId) {
      return decode(byClientId.get(clientId) as { data: string; version: number } | undefined);
    },
    async listApplicationsByOwnerId(ownerId) {
      return (byOwner.all(ownerId) as { data: string; version: number }[]).map((row) => decode(row)!);
    },
    async listApplications(limit) {
      return (all.all(limit) as { data: string; version: number }[]).map((row) => decode(row)!);
    },
    async replaceApplication(application, expectedVersion) {
      return replace.run(application.ownerId, encode(application), application.clientId, expectedVersion).changes === 1;
    },
    async updateApplication(clientId, change) {
      // The conditional UPDATE … WHERE version = ? is the compare-and-set.
      return updateWithVersionCheck(
        async () => decode(byClientId.get(clientId) as { data: string; version: number } | undefined),
        async (next, expectedVersion) => replace.run(next.ownerId, encode({ ...next, clientId }), clientId, expectedVersion).changes === 1,
        change,
      );
    },
    async recordSecretUse(clientId, secretId, at) {
      const iso = at.toISOString();
      if (recordUse.run(iso, clientId, secretId, clientId, iso).changes === 1) return true;
      // Not written: a later use is stored already, or the secret predates stored ids (then the
      // whole record is rewritten once, which stores the id readStoredSecret derives).
      if (hasSecret.get(clientId, secretId)) return true;
      return await recordUseByRewrite(this, clientId, secretId, at);
    },
  };
}
