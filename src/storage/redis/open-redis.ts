import type { Redis } from 'ioredis';
import { createRedisClient } from './redis-client.ts';
import type { StoreConnection } from '../contract.ts';

/**
 * No command waits more than this for its reply, whether Redis is down, unreachable or stalled
 * (a paused process, a long-running script): the request then gets a 503 in bounded time.
 */
const COMMAND_TIMEOUT_MS = 1000;

/**
 * Connects to Redis; ioredis keeps reconnecting in the background. A command issued while the
 * connection is down waits in the offline queue for the reconnection (a brief restart goes
 * unnoticed), but no longer than COMMAND_TIMEOUT_MS nor past one failed reconnection attempt
 * (maxRetriesPerRequest): then it fails and the request gets a 503 instead of hanging.
 */
export function openRedis(url: string): { redis: Redis; connection: StoreConnection } {
  const redis = createRedisClient(url, {
    lazyConnect: false,
    enableOfflineQueue: true,
    commandTimeout: COMMAND_TIMEOUT_MS,
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
