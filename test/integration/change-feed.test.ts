// Issue 12, item 2: the feed that tells every instance that clients changed. A counter in the
// durable store bounds how stale any process can be (read at most every 250 ms); in Redis mode
// pub/sub makes a change arrive at once, and a lost message (Redis down, a failed publish) is
// caught by the counter.
import { afterAll, describe, expect, it } from '@jest/globals';
import { createChangeFeed } from '../../src/storage/change-feed.ts';
import { openRedis } from '../../src/storage/redis/open-redis.ts';
import { createSqliteStores } from '../../src/storage/sqlite/create-sqlite-stores.ts';
import { startTestRedis } from '../helpers/redis-server.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const testRedis = process.env.REDIS_URL ? undefined : await startTestRedis();
const dir = makeTempDir('change-feed');
const sqlite = createSqliteStores(`${dir.path}/store.sqlite`);
afterAll(async () => {
  await sqlite.connection.close();
  dir.remove();
  await testRedis?.stop();
});

const until = async (condition: () => boolean | Promise<boolean>, ms = 5000) => {
  for (const deadline = Date.now() + ms; !(await condition());) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('without Redis: a counter in the durable store', () => {
  it('another process\'s announcement is seen at the next read, at most every 250 ms', async () => {
    const writer = createChangeFeed('clients', sqlite.changeCounters, undefined, 'x:');
    const reader = createChangeFeed('clients', sqlite.changeCounters, undefined, 'x:');
    let changes = 0;
    const watch = reader.watch(() => { changes += 1; });
    expect(await watch.sync()).toBe(true);
    const before = changes;
    await writer.announce();
    expect(await watch.sync()).toBe(true); // read less than 250 ms ago: not read again
    expect(changes).toBe(before);
    await new Promise((r) => setTimeout(r, 260));
    expect(await watch.sync()).toBe(true);
    expect(changes).toBe(before + 1);
  });
});

(testRedis ? describe : describe.skip)('Redis: pub/sub ahead of the counter', () => {
  it('another instance\'s change is heard at once; with Redis down, a change still arrives through the counter', async () => {
    const { redis, connection } = openRedis(testRedis!.url);
    const feed = createChangeFeed('clients', sqlite.changeCounters, redis, testRedis!.prefix);
    let changes = 0;
    const watch = feed.watch(() => { changes += 1; });
    try {
      expect(await watch.sync()).toBe(true);
      await new Promise((r) => setTimeout(r, 300)); // subscribed (a subscription counts as a change)
      const subscribed = changes;
      // Another instance announces: heard at once, before this process reads the counter again.
      const other = openRedis(testRedis!.url);
      await createChangeFeed('clients', sqlite.changeCounters, other.redis, testRedis!.prefix).announce();
      await until(() => changes > subscribed, 200);
      await other.connection.close();

      // Redis down: another instance's publish is lost, its counter bump is not.
      const writer = openRedis(testRedis!.url);
      await writer.redis.ping();
      await testRedis!.stop();
      const before = changes;
      await createChangeFeed('clients', sqlite.changeCounters, writer.redis, testRedis!.prefix).announce();
      await writer.connection.close();
      await new Promise((r) => setTimeout(r, 260));
      expect(await watch.sync()).toBe(true);
      expect(changes).toBeGreaterThan(before);
      await testRedis!.restart!();
    } finally {
      watch.close();
      await connection.close();
    }
  }, 30_000);
});
