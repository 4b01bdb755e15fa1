import type { DatabaseSync } from 'node:sqlite';
import { accountNameKey, DuplicateError, prefixRangeEnd, type AccountRecord, type AccountStore } from '../contract.ts';
import { isUniqueViolation } from './open-sqlite.ts';

interface AccountRow {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  email_verified: number;
  roles: string;
  disabled: number;
  created_at: number;
  updated_at: number;
}

function toAccount(row: AccountRow | undefined): AccountRecord | undefined {
  if (!row) return undefined;
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    passwordHash: row.password_hash,
    emailVerified: row.email_verified === 1,
    roles: JSON.parse(row.roles) as string[],
    disabled: row.disabled === 1,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

// Keyset pages in email order (the UNIQUE email index). A prefix is the union of two index ranges,
// of emails and of name keys; only their matches are sorted. (Written with OR, SQLite's planner
// walks the whole email index from the cursor instead.) Exported for the test of their query plans.
export const ACCOUNT_PAGE_SQL = 'SELECT * FROM accounts WHERE email > ?1 ORDER BY email LIMIT ?2';
export const ACCOUNT_SEARCH_SQL = `SELECT * FROM accounts WHERE email >= ?2 AND email < ?3 AND email > ?1
  UNION SELECT * FROM accounts WHERE name_key >= ?2 AND name_key < ?3 AND email > ?1
  ORDER BY email LIMIT ?4`;

export function createSqliteAccountStore(db: DatabaseSync): AccountStore {
  const insert = db.prepare(`INSERT INTO accounts
    (id, email, name, password_hash, email_verified, roles, disabled, created_at, updated_at, name_key)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const byId = db.prepare('SELECT * FROM accounts WHERE id = ?');
  const byEmail = db.prepare('SELECT * FROM accounts WHERE email = ?');
  const updateRoles = db.prepare('UPDATE accounts SET roles = ?, updated_at = ? WHERE id = ?');
  // rowid order is insertion order: oldest first without an index on created_at.
  const list = db.prepare('SELECT * FROM accounts ORDER BY rowid LIMIT ?');
  const listByRole = db.prepare(
    'SELECT * FROM accounts WHERE EXISTS (SELECT 1 FROM json_each(accounts.roles) WHERE value = ?) ORDER BY rowid LIMIT ?',
  );
  const page = db.prepare(ACCOUNT_PAGE_SQL);
  const search = db.prepare(ACCOUNT_SEARCH_SQL);
  // Runs on admin actions only (never on a page view), and stops at the first match.
  const activeWithRole = db.prepare(`SELECT * FROM accounts WHERE disabled = 0 AND id != ?
    AND EXISTS (SELECT 1 FROM json_each(accounts.roles) WHERE value IN (SELECT value FROM json_each(?))) LIMIT 1`);
  const COLUMNS = { name: 'name', email: 'email', passwordHash: 'password_hash', emailVerified: 'email_verified',
    disabled: 'disabled', updatedAt: 'updated_at', nameKey: 'name_key' } as const;
  const toColumn = (value: unknown) => (typeof value === 'boolean' ? (value ? 1 : 0) : value instanceof Date ? value.getTime() : value);

  return {
    async insertAccount(account) {
      try {
        insert.run(account.id, account.email, account.name, account.passwordHash, account.emailVerified ? 1 : 0,
          JSON.stringify(account.roles), account.disabled ? 1 : 0, account.createdAt.getTime(), account.updatedAt.getTime(),
          accountNameKey(account.name));
      } catch (error) {
        if (isUniqueViolation(error)) throw new DuplicateError('account');
        throw error;
      }
    },
    async findAccountById(id) {
      return toAccount(byId.get(id) as AccountRow | undefined);
    },
    async findAccountByEmail(email) {
      return toAccount(byEmail.get(email) as AccountRow | undefined);
    },
    async listAccounts({ role, limit }) {
      const rows = (role === undefined ? list.all(limit) : listByRole.all(role, limit)) as unknown as AccountRow[];
      return rows.map((row) => toAccount(row)!);
    },
    async searchAccounts({ prefix, afterEmail = '', limit }) {
      const rows = (prefix
        ? search.all(afterEmail, prefix, prefixRangeEnd(prefix), limit)
        : page.all(afterEmail, limit)) as unknown as AccountRow[];
      return rows.map((row) => toAccount(row)!);
    },
    async findActiveAccountWithRole(roles, exceptId) {
      return toAccount(activeWithRole.get(exceptId, JSON.stringify(roles)) as AccountRow | undefined);
    },
    async updateAccountRolesById(id, roles, updatedAt) {
      return updateRoles.run(JSON.stringify(roles), updatedAt.getTime(), id).changes === 1;
    },
    async updateAccountById(id, patch) {
      const entries = Object.entries({ ...patch, ...(patch.name === undefined ? {} : { nameKey: accountNameKey(patch.name) }) })
        .filter(([, value]) => value !== undefined) as [keyof typeof COLUMNS, unknown][];
      const sql = `UPDATE accounts SET ${entries.map(([key]) => `${COLUMNS[key]} = ?`).join(', ')} WHERE id = ?`;
      try {
        return db.prepare(sql).run(...entries.map(([, value]) => toColumn(value) as string | number), id).changes === 1;
      } catch (error) {
        if (isUniqueViolation(error)) throw new DuplicateError('account');
        throw error;
      }
    },
  };
}
