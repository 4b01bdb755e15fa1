import type { DatabaseSync } from 'node:sqlite';
import { DuplicateError, type ApplicationRecord, type ApplicationStore } from '../contract.ts';
import { readStoredSecret, updateWithVersionCheck, type StoredSecret } from '../stored-secret.ts';
import { isUniqueViolation } from './open-sqlite.ts';

type StoredApplication = Omit<ApplicationRecord, 'secrets' | 'postLogoutRedirectUris' | 'revokedAt' | 'createdAt' | 'updatedAt' | 'version'> & {
  secrets: StoredSecret[];
  /** Absent from applications stored before RP-initiated logout could return to the app. */
  postLogoutRedirectUris?: string[];
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
  };
}
