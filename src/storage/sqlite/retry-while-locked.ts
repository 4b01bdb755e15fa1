import { setTimeout as sleep } from 'node:timers/promises';
import { isSqliteUnavailable, wrapStoreMethods } from '../store-unavailable.ts';
import { LOCK_WAIT_MS } from './open-sqlite.ts';

const FIRST_PAUSE_MS = 1;
const LONGEST_PAUSE_MS = 50;

/**
 * The same store, whose calls refused because another connection holds the write lock are tried
 * again after a pause that doubles (1 ms … 50 ms) until `maxWaitMs` has passed; then the refusal is
 * thrown (guardStore turns it into a 503). The pauses are timers: the process serves other requests
 * meanwhile, where SQLite's own busy handler would sleep inside the synchronous call.
 *
 * Repeating a call is safe because each method of the SQLite stores is one statement outside any
 * explicit transaction, or statements that may each run again (insert-if-absent, then read); of such
 * a statement SQLite says "If the statement is a COMMIT or occurs outside of an explicit transaction,
 * then you can retry the statement" (sqlite3_step, SQLITE_BUSY): a refused statement wrote nothing.
 * A method that opens a transaction must roll it back before it throws, or it cannot be wrapped.
 */
export function retryWhileLocked<T extends object>(target: T, maxWaitMs = LOCK_WAIT_MS): T {
  return wrapStoreMethods(target, (call) => async (...args) => {
    const deadline = Date.now() + maxWaitMs;
    for (let pause = FIRST_PAUSE_MS; ; pause = Math.min(pause * 2, LONGEST_PAUSE_MS)) {
      try {
        return await call(...args);
      } catch (error) {
        const left = deadline - Date.now();
        if (!isSqliteUnavailable(error) || left <= 0) throw error;
        await sleep(Math.min(pause, left));
      }
    }
  });
}
