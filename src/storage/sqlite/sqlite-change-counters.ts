import type { DatabaseSync } from 'node:sqlite';
import type { ChangeCounterStore } from '../contract.ts';

/** One row per counter; the bump is one statement (an upsert), so concurrent writers never lose one. */
export function createSqliteChangeCounterStore(db: DatabaseSync): ChangeCounterStore {
  const bump = db.prepare('INSERT INTO change_counters (name, value) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET value = value + 1');
  const read = db.prepare('SELECT value FROM change_counters WHERE name = ?');
  return {
    async bumpChangeCounter(name) {
      bump.run(name);
    },
    async readChangeCounter(name) {
      return Number((read.get(name) as { value: number } | undefined)?.value ?? 0);
    },
  };
}
