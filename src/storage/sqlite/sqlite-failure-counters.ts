import type { DatabaseSync } from 'node:sqlite';
import type { FailureCount, FailureCounterStore } from '../contract.ts';

interface CountRow {
  points: number;
  expires_at: number;
}

const toCount = (row: CountRow | undefined): FailureCount | undefined => row && { points: row.points, expiresAt: row.expires_at };

export function createSqliteFailureCounterStore(db: DatabaseSync, now: () => number = Date.now): FailureCounterStore {
  // One statement: concurrent increments, from this or another process, each see their own total.
  // SET expressions read the row as it was, so both CASEs test the old expiry.
  const increment = db.prepare(`INSERT INTO failure_counters (key, points, expires_at) VALUES (?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET
      points = CASE WHEN expires_at > ? THEN points + excluded.points ELSE excluded.points END,
      expires_at = CASE WHEN expires_at > ? THEN expires_at ELSE excluded.expires_at END
    RETURNING points, expires_at`);
  const replace = db.prepare(`INSERT INTO failure_counters (key, points, expires_at) VALUES (?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET points = excluded.points, expires_at = excluded.expires_at
    RETURNING points, expires_at`);
  const find = db.prepare('SELECT points, expires_at FROM failure_counters WHERE key = ? AND expires_at > ?');
  const remove = db.prepare('DELETE FROM failure_counters WHERE key = ?');

  return {
    async incrementFailureCount(key, points, expiresAt) {
      const at = now();
      return toCount(increment.get(key, points, expiresAt, at, at) as CountRow | undefined)!;
    },
    async replaceFailureCount(key, points, expiresAt) {
      return toCount(replace.get(key, points, expiresAt) as CountRow | undefined)!;
    },
    async findFailureCount(key) {
      return toCount(find.get(key, now()) as CountRow | undefined);
    },
    async deleteFailureCount(key) {
      return remove.run(key).changes === 1;
    },
  };
}

/** Deletes expired counters; the store already ignores them, this only reclaims space. */
export function deleteExpiredSqliteFailureCounts(db: DatabaseSync, now: number = Date.now()): number {
  return Number(db.prepare('DELETE FROM failure_counters WHERE expires_at <= ?').run(now).changes);
}
