import type { DatabaseSync } from 'node:sqlite';
import type { ArtifactPayload, ArtifactStore } from '../contract.ts';

interface ArtifactRow {
  payload: string;
  consumed_at: number | null;
}

function toPayload(row: ArtifactRow | undefined): ArtifactPayload | undefined {
  if (!row) return undefined;
  const payload = JSON.parse(row.payload) as ArtifactPayload;
  if (row.consumed_at !== null) payload.consumed = Math.floor(row.consumed_at / 1000);
  return payload;
}

export function createSqliteArtifactStore(db: DatabaseSync, now: () => number = Date.now): ArtifactStore {
  const upsert = db.prepare(`
    INSERT INTO oidc_artifacts (model, id, payload, grant_id, uid, user_code, account_id, expires_at, consumed_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)
    ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
      uid = excluded.uid, user_code = excluded.user_code, account_id = excluded.account_id, expires_at = excluded.expires_at`);
  const live = '(expires_at IS NULL OR expires_at > ?)';
  const findById = db.prepare(`SELECT payload, consumed_at FROM oidc_artifacts WHERE model = ? AND id = ? AND ${live}`);
  const findByUid = db.prepare(`SELECT payload, consumed_at FROM oidc_artifacts WHERE model = ? AND uid = ? AND ${live}`);
  const findByUserCode = db.prepare(
    `SELECT payload, consumed_at FROM oidc_artifacts WHERE model = ? AND user_code = ? AND ${live}`,
  );
  // One statement: of concurrent callers (in this or another process) exactly one sees a change.
  const consume = db.prepare(
    `UPDATE oidc_artifacts SET consumed_at = ? WHERE model = ? AND id = ? AND consumed_at IS NULL AND ${live}`,
  );
  const byAccount = db.prepare(
    `SELECT id, payload, consumed_at FROM oidc_artifacts WHERE model = ? AND account_id = ? AND ${live}`,
  );
  const destroy = db.prepare('DELETE FROM oidc_artifacts WHERE model = ? AND id = ?');
  const revokeByGrantId = db.prepare('DELETE FROM oidc_artifacts WHERE model = ? AND grant_id = ?');

  return {
    async upsert(model, id, payload, expiresInSeconds) {
      const expiresAt = expiresInSeconds === undefined ? null : now() + expiresInSeconds * 1000;
      upsert.run(model, id, JSON.stringify(payload), payload.grantId ?? null, payload.uid ?? null,
        payload.userCode ?? null, payload.accountId ?? null, expiresAt);
    },
    async find(model, id) {
      return toPayload(findById.get(model, id, now()) as ArtifactRow | undefined);
    },
    async findByUid(model, uid) {
      return toPayload(findByUid.get(model, uid, now()) as ArtifactRow | undefined);
    },
    async findByUserCode(model, userCode) {
      return toPayload(findByUserCode.get(model, userCode, now()) as ArtifactRow | undefined);
    },
    async consume(model, id) {
      const at = now();
      return consume.run(at, model, id, at).changes === 1;
    },
    async destroy(model, id) {
      return destroy.run(model, id).changes === 1;
    },
    async revokeByGrantId(model, grantId) {
      revokeByGrantId.run(model, grantId);
    },
    async listByAccountId(model, accountId) {
      return (byAccount.all(model, accountId, now()) as unknown as (ArtifactRow & { id: string })[])
        .map((row) => ({ id: row.id, payload: toPayload(row)! }));
    },
  };
}

/** Deletes expired artifacts; the store already hides them, this only reclaims space. */
export function deleteExpiredSqliteArtifacts(db: DatabaseSync, now: number = Date.now()): number {
  return Number(db.prepare('DELETE FROM oidc_artifacts WHERE expires_at IS NOT NULL AND expires_at <= ?').run(now).changes);
}
