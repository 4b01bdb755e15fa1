import { describe, expect, it } from '@jest/globals';
import { retryWhileLocked } from '../../src/storage/sqlite/retry-while-locked.ts';

const sqliteError = (errcode: number) => Object.assign(new Error(`errcode ${errcode}`), { errcode });

describe('retryWhileLocked', () => {
  it('tries a call refused with SQLITE_BUSY again until it goes through', async () => {
    let calls = 0;
    const store = retryWhileLocked({
      async write(value: number) {
        calls += 1;
        if (calls < 3) throw sqliteError(5);
        return value * 2;
      },
    });
    await expect(store.write(21)).resolves.toBe(42);
    expect(calls).toBe(3);
  });

  it('lets any other error through at once', async () => {
    let calls = 0;
    const store = retryWhileLocked({ async write() { calls += 1; throw sqliteError(2067); } });
    await expect(store.write()).rejects.toMatchObject({ errcode: 2067 });
    expect(calls).toBe(1);
  });

  it('past the deadline, throws the last refusal', async () => {
    let calls = 0;
    const store = retryWhileLocked({ async write() { calls += 1; throw sqliteError(6); } }, 30);
    await expect(store.write()).rejects.toMatchObject({ errcode: 6 });
    expect(calls).toBeGreaterThan(1);
  });
});
