import { describe, expect, it } from '@jest/globals';
import { guardStore, isMongoUnavailable, isRedisUnavailable, isSqliteUnavailable, StoreUnavailableError } from '../../src/storage/store-unavailable.ts';

const named = (name: string, message = '') => Object.assign(new Error(message), { name });

describe('store unavailability', () => {
  it.each([
    [isRedisUnavailable, named('MaxRetriesPerRequestError'), true],
    [isRedisUnavailable, new Error('Connection is closed.'), true],
    [isRedisUnavailable, new Error('connect ECONNREFUSED 127.0.0.1:6379'), true],
    [isRedisUnavailable, new Error('Command timed out'), true],
    [isRedisUnavailable, new Error('WRONGTYPE Operation against a key holding the wrong kind of value'), false],
    [isMongoUnavailable, named('MongoServerSelectionError'), true],
    [isMongoUnavailable, named('MongoNetworkError'), true],
    [isMongoUnavailable, named('MongoServerError', 'E11000 duplicate key'), false],
    [isSqliteUnavailable, Object.assign(new Error('database is locked'), { errcode: 5 }), true],
    [isSqliteUnavailable, Object.assign(new Error('busy snapshot'), { errcode: 517 }), true],
    [isSqliteUnavailable, Object.assign(new Error('UNIQUE constraint failed'), { errcode: 2067 }), false],
  ] as const)('%p(%p) → %p', (test, error, expected) => {
    expect(test(error)).toBe(expected);
  });

  it('a guarded store turns connectivity errors into a 503 temporarily_unavailable, and lets other errors through', async () => {
    const store = guardStore('redis', {
      async down() { throw new Error('Connection is closed.'); },
      async broken() { throw new Error('a bug'); },
      async fine() { return 42; },
    }, isRedisUnavailable);
    await expect(store.fine()).resolves.toBe(42);
    await expect(store.down()).rejects.toMatchObject({ name: 'StoreUnavailableError', statusCode: 503, expose: true,
      message: 'temporarily_unavailable', store: 'redis' });
    await expect(store.down()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.broken()).rejects.toThrow('a bug');
  });
});
