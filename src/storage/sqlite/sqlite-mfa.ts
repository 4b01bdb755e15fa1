import type { DatabaseSync } from 'node:sqlite';
import type { MfaRecord, MfaStore } from '../contract.ts';

interface MfaRow {
  account_id: string;
  totp_secret: string;
  enabled_at: number | null;
  last_used_step: number;
  recovery_codes: string;
  updated_at: number;
}

const toMfa = (row: MfaRow | undefined): MfaRecord | undefined => row && {
  accountId: row.account_id,
  totpSecret: row.totp_secret,
  enabledAt: row.enabled_at === null ? null : new Date(row.enabled_at),
  lastUsedStep: row.last_used_step,
  recoveryCodeHashes: JSON.parse(row.recovery_codes) as string[],
  updatedAt: new Date(row.updated_at),
};

export function createSqliteMfaStore(db: DatabaseSync): MfaStore {
  const find = db.prepare('SELECT * FROM mfa WHERE account_id = ?');
  const savePending = db.prepare(`INSERT INTO mfa (account_id, totp_secret, enabled_at, last_used_step, recovery_codes, updated_at)
    VALUES (?, ?, NULL, 0, '[]', ?)
    ON CONFLICT (account_id) DO UPDATE SET totp_secret = excluded.totp_secret, updated_at = excluded.updated_at
    WHERE mfa.enabled_at IS NULL`);
  const enable = db.prepare(`UPDATE mfa SET enabled_at = ?, last_used_step = ?, recovery_codes = ?, updated_at = ?
    WHERE account_id = ? AND totp_secret = ? AND enabled_at IS NULL`);
  // Single statements: SQLite runs each atomically, across processes too.
  const useStep = db.prepare('UPDATE mfa SET last_used_step = ? WHERE account_id = ? AND enabled_at IS NOT NULL AND last_used_step < ?');
  const useCode = db.prepare(`UPDATE mfa SET recovery_codes = (SELECT json_group_array(value) FROM json_each(mfa.recovery_codes) WHERE value != ?)
    WHERE account_id = ? AND EXISTS (SELECT 1 FROM json_each(mfa.recovery_codes) WHERE value = ?)`);
  const replaceCodes = db.prepare('UPDATE mfa SET recovery_codes = ?, updated_at = ? WHERE account_id = ? AND enabled_at IS NOT NULL');
  const remove = db.prepare('DELETE FROM mfa WHERE account_id = ?');

  return {
    async findMfaByAccountId(accountId) {
      return toMfa(find.get(accountId) as MfaRow | undefined);
    },
    async savePendingTotp(accountId, totpSecret, at) {
      return savePending.run(accountId, totpSecret, at.getTime()).changes === 1;
    },
    async enableTotp(accountId, totpSecret, step, hashes, at) {
      return enable.run(at.getTime(), step, JSON.stringify(hashes), at.getTime(), accountId, totpSecret).changes === 1;
    },
    async useTotpStep(accountId, step) {
      return useStep.run(step, accountId, step).changes === 1;
    },
    async useRecoveryCode(accountId, hash) {
      return useCode.run(hash, accountId, hash).changes === 1;
    },
    async replaceRecoveryCodes(accountId, hashes, at) {
      return replaceCodes.run(JSON.stringify(hashes), at.getTime(), accountId).changes === 1;
    },
    async deleteMfa(accountId) {
      return remove.run(accountId).changes === 1;
    },
  };
}
