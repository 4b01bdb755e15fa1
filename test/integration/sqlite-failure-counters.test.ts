// Embedded mode keeps the failure counters in the SQLite file: connections on one file (the
// processes sharing a DATA_DIR) count together, and the counts outlive the connection (a restart).
import { afterAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DatabaseSync } from 'node:sqlite';
import { createLoginThrottle, MAX_FAILURES_PER_HOUR } from '../../src/accounts/login-throttle.ts';
import { createFailureLimiter } from '../../src/shared/failure-limiter.ts';
import { openSqliteDatabase } from '../../src/storage/sqlite/open-sqlite.ts';
import { createSqliteFailureCounterStore, deleteExpiredSqliteFailureCounts } from '../../src/storage/sqlite/sqlite-failure-counters.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';
import { wrongPassword } from '../helpers/throttle-attempts.ts';

const tmp = makeTempDir('failure-counters');
const opened: DatabaseSync[] = [];
afterAll(() => {
  opened.forEach((db) => db.isOpen && db.close());
  tmp.remove();
});

/** A connection of its own to the file, as another process would have. */
function connect(name: string) {
  const db = openSqliteDatabase(`${tmp.path}/${name}.sqlite`);
  opened.push(db);
  return { db, store: createSqliteFailureCounterStore(db) };
}

const limit = { name: 'login-account', points: 3, windowSeconds: 60, blockSeconds: 60 };
const counters = (store: ReturnType<typeof connect>['store']) => ({ store, keyPrefix: 'test:' });

describe('SQLite failure counters', () => {
  it('two connections on one file count together: the third failure, at either, blocks the key at both', async () => {
    const [a, b] = [connect('shared'), connect('shared')];
    const [atA, atB] = [createFailureLimiter(limit, counters(a.store)), createFailureLimiter(limit, counters(b.store))];
    expect(await atA.recordFailure('ada@example.test')).toBe(0);
    expect(await atB.recordFailure('ada@example.test')).toBe(0);
    expect(await atA.recordFailure('ada@example.test')).toBeGreaterThan(0);
    expect(await atB.retryAfter('ada@example.test')).toBeGreaterThan(0);
    expect(await atB.retryAfter('someone.else@example.test')).toBe(0);
    // A success resets the key for every process.
    await atB.reset('ada@example.test');
    expect(await atA.retryAfter('ada@example.test')).toBe(0);
  });

  it('a block outlives the connection: reopened, the file still refuses the key', async () => {
    const first = connect('restart');
    const limiter = createFailureLimiter(limit, counters(first.store));
    for (let i = 0; i < 4; i += 1) await limiter.recordFailure('ada@example.test');
    const blockedFor = await limiter.retryAfter('ada@example.test');
    expect(blockedFor).toBeGreaterThan(0);
    first.db.close();

    const reopened = createFailureLimiter(limit, counters(connect('restart').store));
    expect(await reopened.retryAfter('ada@example.test')).toBeGreaterThan(0);
    expect(await reopened.retryAfter('ada@example.test')).toBeLessThanOrEqual(blockedFor);
  });

  it('a block expires: the key may try again, and the count starts over', async () => {
    const { store } = connect('expiry');
    const limiter = createFailureLimiter({ ...limit, windowSeconds: 1, blockSeconds: 1 }, counters(store));
    for (let i = 0; i < 4; i += 1) await limiter.recordFailure('ada@example.test');
    expect(await limiter.retryAfter('ada@example.test')).toBeGreaterThan(0);
    await sleep(1100);
    expect(await limiter.retryAfter('ada@example.test')).toBe(0);
    expect(await limiter.recordFailure('ada@example.test')).toBe(0);
  });

  it('an expired count is ignored, restarted on the next failure, and removed by the cleanup', async () => {
    const { db, store } = connect('cleanup');
    const past = Date.now() - 1;
    const future = Date.now() + 60_000;
    await store.replaceFailureCount('old', 7, past);
    await store.replaceFailureCount('live', 2, future);
    expect(await store.findFailureCount('old')).toBeUndefined();
    expect(await store.incrementFailureCount('live', 1, future + 1000)).toEqual({ points: 3, expiresAt: future });
    expect(deleteExpiredSqliteFailureCounts(db)).toBe(1);
    expect(await store.incrementFailureCount('old', 1, future)).toEqual({ points: 1, expiresAt: future });
  });

  it('the cap of 100 failures per account per hour holds across processes', async () => {
    const [a, b] = [connect('cap'), connect('cap')];
    const lax = { failuresPerAccount: 100, failuresPerIp: 100_000, windowSeconds: 60, blockSeconds: 1 };
    const [atA, atB] = [createLoginThrottle(lax, counters(a.store)), createLoginThrottle(lax, counters(b.store))];
    for (let i = 0; i < MAX_FAILURES_PER_HOUR - 1; i += 1) {
      expect(await wrongPassword(i % 2 ? atB : atA, 'cap@example.test', `10.0.${i >> 8}.${i & 255}`)).toBe(0);
    }
    expect(await wrongPassword(atB, 'cap@example.test', '10.1.0.1')).toBeGreaterThan(3000);
    expect(await atA.retryAfter('cap@example.test', '10.1.0.2')).toBeGreaterThan(3000);
  });
});
