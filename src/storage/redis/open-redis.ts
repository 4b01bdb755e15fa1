import { Redis } from 'ioredis';
import type { StoreConnection } from '../contract.ts';

/**
 * Connects to Redis. Commands fail fast while Redis is down (no offline queue, one retry) so that
 * requests get a 503 instead of hanging; ioredis keeps reconnecting in the background.
 */
export function openRedis(url: string): { redis: Redis; connection: StoreConnection } {
  const redis = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  // Connection errors surface through failed commands and /readyz; an unhandled 'error' event
  // would otherwise crash the process while Redis restarts.
  redis.on('error', () => {});
  return {
    redis,
    connection: {
      name: 'redis',
      async ping() {
        await redis.ping();
      },
      async close() {
        // QUIT lets pending replies arrive; with Redis unreachable it would only queue and keep
        // the reconnect loop alive, so then the connection is simply dropped.
        if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
        else redis.disconnect();
      },
    },
  };
}
