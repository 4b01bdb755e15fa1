import type { DatabaseSync } from 'node:sqlite';
import type { RevocationEventRecord, RevocationStore } from '../contract.ts';

interface RevocationRow {
  kind: RevocationEventRecord['kind'];
  value: string;
  at: number;
}

export function createSqliteRevocationStore(db: DatabaseSync): RevocationStore {
  const insert = db.prepare('INSERT INTO revocation_events (kind, value, at) VALUES (?, ?, ?)');
  const since = db.prepare('SELECT kind, value, at FROM revocation_events WHERE at >= ? ORDER BY at, seq LIMIT ?');
  return {
    async appendRevocation(event) {
      insert.run(event.kind, event.value, event.at.getTime());
    },
    async listRevocationsSince(from, limit) {
      return (since.all(from.getTime(), limit) as unknown as RevocationRow[]).map((row) => ({ ...row, at: new Date(row.at) }));
    },
  };
}

/** Revocation events matter only while the tokens they name can live; older ones are dropped. */
export function deleteOldSqliteRevocations(db: DatabaseSync, before: Date): void {
  db.prepare('DELETE FROM revocation_events WHERE at < ?').run(before.getTime());
}
