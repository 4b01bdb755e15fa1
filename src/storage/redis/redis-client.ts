import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { parseRedisUrl } from './redis-url.ts';

/**
 * A client for REDIS_URL with `options` (timeouts, retries). A cluster client is returned under the
 * Redis type: it offers the same commands, and the stores only use those.
 */
export function createRedisClient(url: string, options: RedisOptions = {}): Redis {
  const parsed = parseRedisUrl(url);
  const auth = { ...(parsed.password ? { password: parsed.password } : {}), ...(parsed.username ? { username: parsed.username } : {}),
    ...(parsed.tls ? { tls: {} } : {}) };
  if (parsed.kind === 'server') return new Redis({ ...options, ...auth, ...parsed.nodes[0], ...(parsed.db ? { db: parsed.db } : {}) });
  if (parsed.kind === 'sentinel') {
    return new Redis({ ...options, ...auth, sentinels: parsed.nodes, name: parsed.name!, ...(parsed.db ? { db: parsed.db } : {}),
      ...(parsed.password ? { sentinelPassword: parsed.password } : {}) });
  }
  const cluster = new Cluster(parsed.nodes, { redisOptions: { ...options, ...auth }, enableOfflineQueue: options.enableOfflineQueue ?? true,
    clusterRetryStrategy: (attempt) => Math.min(attempt * 200, 2000) });
  return cluster as unknown as Redis;
}
