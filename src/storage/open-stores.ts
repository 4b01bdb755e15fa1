import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { DatabaseSync } from 'node:sqlite';
import type { ArtifactStore, DurableStores, FailureCounterStore, StoreConnection } from './contract.ts';
import { createSqliteStores } from './sqlite/create-sqlite-stores.ts';
import { openMongo } from './mongo/open-mongo.ts';
import { openRedis } from './redis/open-redis.ts';
import { createRedisArtifactStore } from './redis/redis-artifacts.ts';
import { guardStore, isMongoUnavailable, isRedisUnavailable, isSqliteUnavailable, type UnavailabilityTest } from './store-unavailable.ts';

/** Every store of the durable set, guarded: connectivity errors become StoreUnavailableError (503). */
function guardDurable(name: string, stores: DurableStores, isUnavailable: UnavailabilityTest): DurableStores {
  return {
    artifacts: guardStore(name, stores.artifacts, isUnavailable),
    accounts: guardStore(name, stores.accounts, isUnavailable),
    applications: guardStore(name, stores.applications, isUnavailable),
    keyrings: guardStore(name, stores.keyrings, isUnavailable),
    audit: guardStore(name, stores.audit, isUnavailable),
    authorizations: guardStore(name, stores.authorizations, isUnavailable),
    mfa: guardStore(name, stores.mfa, isUnavailable),
    revocations: guardStore(name, stores.revocations, isUnavailable),
  };
}

export interface Stores {
  /** Accounts, clients, grants, refresh tokens, keys, audit: MongoDB, else SQLite. */
  durable: DurableStores;
  /** Sessions, interactions, codes and other short-lived artifacts: Redis, else the durable store. */
  shortLived: ArtifactStore;
  connections: StoreConnection[];
  redis: Redis | undefined;
  sqlite: DatabaseSync | undefined;
  /** SQLite mode: the sign-in failure counters, shared by the processes on one DATA_DIR. */
  failureCounters: FailureCounterStore | undefined;
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
    let failureCounters: FailureCounterStore | undefined;
    if (settings.mongodbUri) {
      const mongo = await openMongo(settings.mongodbUri);
      connections.push(mongo.connection);
      durable = guardDurable('mongodb', mongo, isMongoUnavailable);
    } else {
      const stores = createSqliteStores(sqliteFile(settings.dataDir));
      connections.push(stores.connection);
      durable = guardDurable('sqlite', stores, isSqliteUnavailable);
      sqlite = stores.db;
      failureCounters = guardStore('sqlite', stores.failureCounters, isSqliteUnavailable);
    }
    let shortLived = durable.artifacts;
    let redis: Redis | undefined;
    if (settings.redisUrl) {
      const opened = openRedis(settings.redisUrl);
      connections.push(opened.connection);
      redis = opened.redis;
      shortLived = guardStore('redis', createRedisArtifactStore(redis, settings.redisKeyPrefix), isRedisUnavailable);
    }
    return { durable, shortLived, connections, redis, sqlite, failureCounters };
  } catch (error) {
    await closeConnections(connections);
    throw error;
  }
}

export async function closeConnections(connections: StoreConnection[]): Promise<void> {
  await Promise.allSettled(connections.map((c) => c.close()));
}
