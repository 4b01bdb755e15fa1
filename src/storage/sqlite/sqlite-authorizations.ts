import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { AuthorizationFilter, AuthorizationRecord, AuthorizationStore } from '../contract.ts';

// v10 of open-sqlite.ts: the authorization index. `permissions` is a JSON array (scope tokens
// cannot hold `"` or `\`, RFC 6749 §3.3); triggers keep one side row per permission, keyed for the
// permission filter, in the same statement as the row itself. Grants stored before are filled in
// from their payload; expired ones and those of the account pages' own client are left out.
export const authorizationIndexSchema = (accountClientId: string) => `
CREATE TABLE authorizations (
  grant_id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  client_id TEXT NOT NULL,
  permissions TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  last_used_at INTEGER
) WITHOUT ROWID;
CREATE INDEX authorizations_created ON authorizations (created_at, grant_id);
CREATE INDEX authorizations_account ON authorizations (account_id, created_at, grant_id);
CREATE INDEX authorizations_client ON authorizations (client_id, created_at, grant_id);
CREATE INDEX authorizations_expiry ON authorizations (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE authorization_permissions (
  permission TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  grant_id TEXT NOT NULL,
  PRIMARY KEY (permission, created_at, grant_id)
) WITHOUT ROWID;
CREATE INDEX authorization_permissions_grant ON authorization_permissions (grant_id);
CREATE TRIGGER authorizations_inserted AFTER INSERT ON authorizations BEGIN
  INSERT OR IGNORE INTO authorization_permissions (permission, created_at, grant_id)
    SELECT value, NEW.created_at, NEW.grant_id FROM json_each(NEW.permissions);
END;
CREATE TRIGGER authorizations_updated AFTER UPDATE OF permissions, created_at ON authorizations BEGIN
  DELETE FROM authorization_permissions WHERE grant_id = OLD.grant_id;
  INSERT OR IGNORE INTO authorization_permissions (permission, created_at, grant_id)
    SELECT value, NEW.created_at, NEW.grant_id FROM json_each(NEW.permissions);
END;
CREATE TRIGGER authorizations_deleted AFTER DELETE ON authorizations BEGIN
  DELETE FROM authorization_permissions WHERE grant_id = OLD.grant_id;
END;
INSERT INTO authorizations (grant_id, account_id, client_id, permissions, created_at, expires_at)
  SELECT g.id, json_extract(g.payload, '$.accountId'), json_extract(g.payload, '$.clientId'),
    (SELECT json_group_array(DISTINCT word.value) FROM (
        SELECT json_extract(g.payload, '$.openid.scope') AS scope
        UNION ALL SELECT value FROM json_each(g.payload, '$.resources')
      ) AS granted, json_each('["' || replace(coalesce(granted.scope, ''), ' ', '","') || '"]') AS word
      WHERE word.value <> ''),
    coalesce(json_extract(g.payload, '$.iat'), 0) * 1000, g.expires_at
  FROM oidc_artifacts AS g
  WHERE g.model = 'Grant' AND json_extract(g.payload, '$.accountId') IS NOT NULL
    AND json_extract(g.payload, '$.clientId') IS NOT NULL AND json_extract(g.payload, '$.clientId') <> '${accountClientId}'
    AND (g.expires_at IS NULL OR g.expires_at > unixepoch() * 1000);
`;

interface AuthorizationRow {
  grant_id: string;
  account_id: string;
  client_id: string;
  permissions: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
}

const fromRow = (row: AuthorizationRow): AuthorizationRecord => ({
  grantId: row.grant_id, accountId: row.account_id, clientId: row.client_id,
  permissions: JSON.parse(row.permissions) as string[], createdAt: new Date(row.created_at),
  expiresAt: row.expires_at === null ? null : new Date(row.expires_at),
  lastUsedAt: row.last_used_at === null ? null : new Date(row.last_used_at),
});

/**
 * The query for a filter, driven by the narrowest index it can use: a person's rows, else an
 * application's, else a permission's side rows, else all by time; the other filters are checked on
 * the rows that index yields (the permission by its side row's primary key).
 */
function querySql(filter: AuthorizationFilter, select: 'rows' | 'count'): { sql: string; driver: string } {
  const byPermissionIndex = filter.permission !== undefined && filter.accountId === undefined && filter.clientId === undefined;
  const order = byPermissionIndex ? 'p' : 'a';
  const where = ['(a.expires_at IS NULL OR a.expires_at > :now)'];
  if (filter.accountId !== undefined) where.push('a.account_id = :accountId');
  if (filter.clientId !== undefined) where.push('a.client_id = :clientId');
  if (filter.permission !== undefined && !byPermissionIndex) {
    where.push(`EXISTS (SELECT 1 FROM authorization_permissions AS q
      WHERE q.permission = :permission AND q.created_at = a.created_at AND q.grant_id = a.grant_id)`);
  }
  if (byPermissionIndex) where.push('p.permission = :permission');
  if (filter.after) where.push(`(${order}.created_at, ${order}.grant_id) < (:afterAt, :afterId)`);
  const from = byPermissionIndex
    ? 'authorization_permissions AS p JOIN authorizations AS a ON a.grant_id = p.grant_id'
    : 'authorizations AS a';
  const head = select === 'count' ? 'SELECT count(*) AS n' : 'SELECT a.*';
  const tail = select === 'count' ? '' : ` ORDER BY ${order}.created_at DESC, ${order}.grant_id DESC LIMIT :limit`;
  return { sql: `${head} FROM ${from} WHERE ${where.join(' AND ')}${tail}`, driver: `${select}:${Object.keys(filter).sort().join(',')}` };
}

const paramsOf = (filter: AuthorizationFilter, now: number) => ({
  now,
  ...(filter.accountId !== undefined ? { accountId: filter.accountId } : {}),
  ...(filter.clientId !== undefined ? { clientId: filter.clientId } : {}),
  ...(filter.permission !== undefined ? { permission: filter.permission } : {}),
  ...(filter.after ? { afterAt: filter.after.createdAt.getTime(), afterId: filter.after.grantId } : {}),
});

export function createSqliteAuthorizationStore(db: DatabaseSync, now: () => number = Date.now): AuthorizationStore {
  // One statement: the triggers replace the side rows with it (retry-while-locked.ts may repeat it).
  const save = db.prepare(`
    INSERT INTO authorizations (grant_id, account_id, client_id, permissions, created_at, expires_at, last_used_at)
    VALUES (?, ?, ?, ?, ?, ?, NULL)
    ON CONFLICT (grant_id) DO UPDATE SET account_id = excluded.account_id, client_id = excluded.client_id,
      permissions = excluded.permissions, created_at = excluded.created_at, expires_at = excluded.expires_at`);
  const remove = db.prepare('DELETE FROM authorizations WHERE grant_id = ?');
  const use = db.prepare('UPDATE authorizations SET last_used_at = ? WHERE grant_id = ? AND (last_used_at IS NULL OR last_used_at < ?)');
  const find = db.prepare('SELECT * FROM authorizations WHERE grant_id = ? AND (expires_at IS NULL OR expires_at > ?)');
  const statements = new Map<string, StatementSync>();
  const prepared = (filter: AuthorizationFilter, select: 'rows' | 'count') => {
    const { sql, driver } = querySql(filter, select);
    let statement = statements.get(driver);
    if (!statement) statements.set(driver, statement = db.prepare(sql));
    return statement;
  };
  return {
    async saveAuthorization(record) {
      save.run(record.grantId, record.accountId, record.clientId, JSON.stringify([...new Set(record.permissions)]),
        record.createdAt.getTime(), record.expiresAt?.getTime() ?? null);
    },
    async deleteAuthorization(grantId) {
      return remove.run(grantId).changes === 1;
    },
    async recordAuthorizationUse(grantId, at) {
      use.run(at.getTime(), grantId, at.getTime());
    },
    async findAuthorization(grantId) {
      const row = find.get(grantId, now()) as AuthorizationRow | undefined;
      return row && fromRow(row);
    },
    async listAuthorizations(filter, limit) {
      const clean = withoutUndefined(filter);
      return (prepared(clean, 'rows').all({ ...paramsOf(clean, now()), limit }) as unknown as AuthorizationRow[]).map(fromRow);
    },
    async countAuthorizations(filter) {
      const clean = withoutUndefined(filter);
      return Number((prepared(clean, 'count').get(paramsOf(clean, now())) as { n: number }).n);
    },
  };
}

/** `{ permission: undefined }` is no filter: the prepared statement is chosen by the keys present. */
const withoutUndefined = (filter: AuthorizationFilter): AuthorizationFilter =>
  Object.fromEntries(Object.entries(filter).filter(([, value]) => value !== undefined)) as AuthorizationFilter;

/** Deletes the rows of expired grants (the store already hides them; the artifact cleanup removes the grants). */
export function deleteExpiredSqliteAuthorizations(db: DatabaseSync, now: number = Date.now()): number {
  return Number(db.prepare('DELETE FROM authorizations WHERE expires_at IS NOT NULL AND expires_at <= ?').run(now).changes);
}
