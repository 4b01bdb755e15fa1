import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { DatabaseSync } from 'node:sqlite';
import type { ArtifactStore, DurableStores, FailureCounterStore, StoreConnection } from './contract.ts';
import { createSqliteStores } from './sqlite/create-sqlite-stores.ts';
import { createRedisCounterStore } from './redis/redis-counters.ts';
import { createChangeFeed, type ChangeFeed } from './change-feed.ts';
import { announceClientChanges, CLIENTS_TOPIC } from './announce-client-changes.ts';
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
    changeCounters: guardStore(name, stores.changeCounters, isUnavailable),
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
  /**
   * The durable store's failure counters (the sign-in throttle's when there is no Redis): in the
   * SQLite file, shared by the processes on one DATA_DIR, or in MongoDB, shared by every instance;
   * both kept across restarts.
   */
  failureCounters: FailureCounterStore;
  /**
   * Counters every instance shares (the token endpoint's rate limits, single-use forms): Redis in
   * Redis mode, else the durable store's (SQLite or MongoDB).
   */
  sharedCounters: FailureCounterStore;
  /** Announces every write that changes an oidc-provider client, to every instance (announce-client-changes.ts). */
  clientChanges: ChangeFeed;
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
    let failureCounters: FailureCounterStore;
    // The MongoDB driver and ioredis are loaded only when configured (about 30 and 20 MB of
    // resident memory that an embedded installation would carry for nothing).
    if (settings.mongodbUri) {
      const { openMongo } = await import('./mongo/open-mongo.ts');
      const mongo = await openMongo(settings.mongodbUri);
      connections.push(mongo.connection);
      durable = guardDurable('mongodb', mongo, isMongoUnavailable);
      failureCounters = guardStore('mongodb', mongo.failureCounters, isMongoUnavailable);
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
      const [{ openRedis }, { createRedisArtifactStore }] = await Promise.all([import('./redis/open-redis.ts'),
        import('./redis/redis-artifacts.ts')]);
      const opened = openRedis(settings.redisUrl);
      connections.push(opened.connection);
      redis = opened.redis;
      shortLived = guardStore('redis', createRedisArtifactStore(redis, settings.redisKeyPrefix), isRedisUnavailable);
    }
    const sharedCounters = redis
      ? guardStore('redis', createRedisCounterStore(redis, settings.redisKeyPrefix), isRedisUnavailable) : failureCounters;
    const clientChanges = createChangeFeed(CLIENTS_TOPIC, durable.changeCounters, redis, settings.redisKeyPrefix);
    durable = announceClientChanges(durable, clientChanges);
    return { durable, shortLived, connections, redis, sqlite, failureCounters, sharedCounters, clientChanges };
  } catch (error) {
    await closeConnections(connections);
    throw error;
  }
}

export async function closeConnections(connections: StoreConnection[]): Promise<void> {
  await Promise.allSettled(connections.map((c) => c.close()));
}
