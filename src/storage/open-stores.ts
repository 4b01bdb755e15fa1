import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { DatabaseSync } from 'node:sqlite';
import type { ArtifactStore, DurableStores, StoreConnection } from './contract.ts';
import { createSqliteStores } from './sqlite/create-sqlite-stores.ts';
import { openMongo } from './mongo/open-mongo.ts';
import { openRedis } from './redis/open-redis.ts';
import { createRedisArtifactStore } from './redis/redis-artifacts.ts';

export interface Stores {
  /** Accounts, clients, grants, refresh tokens, keys, audit: MongoDB, else SQLite. */
  durable: DurableStores;
  /** Sessions, interactions, codes and other short-lived artifacts: Redis, else the durable store. */
  shortLived: ArtifactStore;
  connections: StoreConnection[];
  redis: Redis | undefined;
  sqlite: DatabaseSync | undefined;
}

export interface StoreSettings {
  dataDir: string;
  mongodbUri: string | undefined;
  redisUrl: string | undefined;
  redisKeyPrefix: string;
}

export const sqliteFile = (dataDir: string) => join(dataDir, 'tokenim-auth.sqlite');

export async function openStores(settings: StoreSettings): Promise<Stores> {
  const connections: StoreConnection[] = [];
  try {
    let durable: DurableStores;
    let sqlite: DatabaseSync | undefined;
    if (settings.mongodbUri) {
      const mongo = await openMongo(settings.mongodbUri);
      connections.push(mongo.connection);
      durable = mongo;
    } else {
      const stores = createSqliteStores(sqliteFile(settings.dataDir));
      connections.push(stores.connection);
      durable = stores;
      sqlite = stores.db;
    }
    let shortLived = durable.artifacts;
    let redis: Redis | undefined;
    if (settings.redisUrl) {
      const opened = openRedis(settings.redisUrl);
      connections.push(opened.connection);
      redis = opened.redis;
      shortLived = createRedisArtifactStore(redis, settings.redisKeyPrefix);
    }
    return { durable, shortLived, connections, redis, sqlite };
  } catch (error) {
    await closeConnections(connections);
    throw error;
  }
}

export async function closeConnections(connections: StoreConnection[]): Promise<void> {
  await Promise.allSettled(connections.map((c) => c.close()));
}
