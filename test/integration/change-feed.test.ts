// Issue 12, item 2: the feed that tells every instance that clients changed. In Redis mode a
// process trusts what it keeps only while its subscription is up: messages sent while it is down
// are lost, so it trusts nothing then, and drops everything when it subscribes again.
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

(testRedis ? describe : describe.skip)('Redis: pub/sub', () => {
  it('trusted only while subscribed; a resubscription counts as a change', async () => {
    const { redis, connection } = openRedis(testRedis!.url);
    const feed = createChangeFeed('clients', sqlite.changeCounters, redis, testRedis!.prefix);
    let changes = 0;
    const watch = feed.watch(() => { changes += 1; });
    try {
      await until(() => watch.sync());
      const subscribed = changes;
      // Another instance announces: heard at once, and not through the counter.
      const other = openRedis(testRedis!.url);
      await createChangeFeed('clients', sqlite.changeCounters, other.redis, testRedis!.prefix).announce();
      await until(() => changes === subscribed + 1, 1000);
      await other.connection.close();

      await testRedis!.stop();
      await until(() => !watch.sync());
      await testRedis!.restart!();
      await until(() => watch.sync());
      expect(changes).toBeGreaterThan(subscribed + 1);
    } finally {
      watch.close();
      await connection.close();
    }
  }, 30_000);
});
