import type { DatabaseSync } from 'node:sqlite';
import { accountNameKey, DuplicateError, prefixRangeEnd, type ApplicationRecord, type ApplicationSearch,
  type ApplicationStore } from '../contract.ts';
import { readStoredSecret, recordUseByRewrite, updateWithVersionCheck, type StoredSecret } from '../stored-secret.ts';
import { isUniqueViolation } from './open-sqlite.ts';

type StoredApplication = Omit<ApplicationRecord, 'secrets' | 'postLogoutRedirectUris' | 'pendingScope' | 'revokedAt' | 'disabledAt'
  | 'refusedScope' | 'tokenRateLimitPerMinute' | 'createdAt' | 'updatedAt' | 'version'> & {
  secrets: StoredSecret[];
  /** Absent from applications stored before RP-initiated logout could return to the app. */
  postLogoutRedirectUris?: string[];
  /** Absent from applications stored before sensitive permissions waited for approval. */
  pendingScope?: string;
  revokedAt: string | null;
  /** Absent from applications stored before administrators could disable them. */
  disabledAt?: string | null;
  /** Absent from applications stored before administrators could refuse permissions. */
  refusedScope?: string;
  /** Absent from applications stored before per-application rate limits. */
  tokenRateLimitPerMinute?: number | null;
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
    disabledAt: application.disabledAt?.toISOString() ?? null,
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
    disabledAt: stored.disabledAt ? new Date(stored.disabledAt) : null,
    refusedScope: stored.refusedScope ?? '',
    tokenRateLimitPerMinute: stored.tokenRateLimitPerMinute ?? null,
    createdAt: new Date(stored.createdAt),
    updatedAt: new Date(stored.updatedAt),
    version: row.version,
  };
}

export function createSqliteApplicationStore(db: DatabaseSync): ApplicationStore {
  const insert = db.prepare(
    'INSERT INTO applications (client_id, owner_id, name_key, pending_scope, version, data) VALUES (?, ?, ?, ?, ?, ?)');
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
    'UPDATE applications SET owner_id = ?, name_key = ?, pending_scope = ?, data = ?, version = version + 1 WHERE client_id = ? AND version = ?',
  );
  /** The indexed columns beside the JSON record, in the order insert and replace name them. */
  const columns = (a: ApplicationRecord) => [a.ownerId, accountNameKey(a.name), a.pendingScope] as const;
  const search = createSearch(db);

  return {
    async insertApplication(application) {
      try {
        insert.run(application.clientId, ...columns(application), application.version, encode(application));
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
    async searchApplications(query) {
      return search(query).map((row) => decode(row)!);
    },
    async replaceApplication(application, expectedVersion) {
      return replace.run(...columns(application), encode(application), application.clientId, expectedVersion).changes === 1;
    },
    async updateApplication(clientId, change) {
      // The conditional UPDATE … WHERE version = ? is the compare-and-set.
      return updateWithVersionCheck(
        async () => decode(byClientId.get(clientId) as { data: string; version: number } | undefined),
        async (next, expectedVersion) => replace.run(...columns(next), encode({ ...next, clientId }), clientId, expectedVersion).changes === 1,
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

/**
 * The admin console's search (exported for the query-plan test), in client id order after the
 * cursor. Each shape reads one index range, named with INDEXED BY so that a page view fails loudly
 * rather than falls back to a scan if the index is gone: a prefix is the primary-key range UNION
 * the applications_name_key range (only the matches are then sorted); an owner is
 * applications_owner; "waiting for approval" alone is the partial index applications_pending.
 */
export function applicationSearchStatement({ prefix, ownerId, isPendingApproval, afterClientId = '', limit }: ApplicationSearch) {
  const filters: string[] = [];
  const params: (string | number)[] = [];
  if (ownerId !== undefined) {
    filters.push('owner_id = ?');
    params.push(ownerId);
  }
  if (isPendingApproval) filters.push("pending_scope <> ''");
  const and = filters.map((f) => ` AND ${f}`).join('');
  const select = 'SELECT data, version FROM applications';
  const order = 'ORDER BY client_id LIMIT ?';
  if (prefix) {
    const key = accountNameKey(prefix);
    return {
      sql: `${select} WHERE client_id IN (
        SELECT client_id FROM applications WHERE client_id > ? AND client_id >= ? AND client_id < ?
        UNION SELECT client_id FROM applications INDEXED BY applications_name_key WHERE name_key >= ? AND name_key < ? AND client_id > ?)${and} ${order}`,
      params: [afterClientId, prefix, prefixRangeEnd(prefix), key, prefixRangeEnd(key), afterClientId, ...params, limit],
    };
  }
  const index = ownerId !== undefined ? ' INDEXED BY applications_owner' : isPendingApproval ? ' INDEXED BY applications_pending' : '';
  return { sql: `${select}${index} WHERE client_id > ?${and} ${order}`, params: [afterClientId, ...params, limit] };
}

/** Runs applicationSearchStatement, each combination of filters prepared once. */
function createSearch(db: DatabaseSync) {
  const statements = new Map<string, ReturnType<DatabaseSync['prepare']>>();
  return (query: ApplicationSearch) => {
    const { sql, params } = applicationSearchStatement(query);
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, statement = db.prepare(sql));
    return statement.all(...params) as { data: string; version: number }[];
  };
}
