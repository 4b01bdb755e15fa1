import type { ChainableCommander, Redis } from 'ioredis';
import type { ArtifactPayload, ArtifactStore } from '../contract.ts';

// Keys: <prefix><Model>:<id> is a hash {payload, consumed?}; <prefix>grant:<Model>:<grantId> is the set
// of keys issued under a grant (for revokeByGrantId); uid: and usercode: keys point at an id.
// Every command, transaction and script touches one key, so the store works on Redis Cluster too
// (keys of one artifact hash to different slots). Instead of one transaction over all its keys, an
// artifact's index entries are written before the artifact: a failure between the writes leaves an
// index naming nothing (skipped when read), never an artifact its grant's revocation cannot find.
// Every key carries the artifact's TTL, so Redis expires the data itself. That is also why Redis has
// no migration for ids stored hashed (src/oidc/adapter.ts): the keys written under raw ids are no
// longer reachable and expire with their TTL (only short-lived models live here).

// Atomic: HSETNX sets `consumed` for exactly one caller, and only if the artifact still exists.
const CONSUME = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HSETNX', KEYS[1], 'consumed', ARGV[1])`;

// The grant index lives as long as the longest-lived artifact in it (-1: no TTL yet, a new set).
const EXTEND_TTL = `
local current = redis.call('TTL', KEYS[1])
if current == -1 or current < tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return 1`;


/** Runs a transaction on one key; a command's error fails the call. */
async function oneKey(transaction: ChainableCommander): Promise<void> {
  const results = await transaction.exec();
  const failure = results?.find(([error]) => error);
  if (failure) throw failure[0];
}

export function createRedisArtifactStore(redis: Redis, prefix = 'tokenim:'): ArtifactStore {
  const keyFor = (model: string, id: string) => `${prefix}${model}:${id}`;
  const grantKeyFor = (model: string, grantId: string) => `${prefix}grant:${model}:${grantId}`;
  const uidKeyFor = (model: string, uid: string) => `${prefix}uid:${model}:${uid}`;
  const accountKeyFor = (model: string, accountId: string) => `${prefix}account:${model}:${accountId}`;
  const userCodeKeyFor = (model: string, code: string) => `${prefix}usercode:${model}:${code}`;

  async function findByKey(key: string): Promise<ArtifactPayload | undefined> {
    const hash = await redis.hgetall(key);
    if (hash.payload === undefined) return undefined;
    const payload = JSON.parse(hash.payload) as ArtifactPayload;
    if (hash.consumed !== undefined) payload.consumed = Number(hash.consumed);
    return payload;
  }

  async function findByPointer(pointerKey: string, model: string): Promise<ArtifactPayload | undefined> {
    const id = await redis.get(pointerKey);
    return id === null ? undefined : findByKey(keyFor(model, id));
  }

  return {
    async upsert(model, id, payload, expiresInSeconds) {
      const key = keyFor(model, id);
      const ttl = expiresInSeconds === undefined ? undefined : Math.max(1, Math.ceil(expiresInSeconds));
      const indexes = [
        payload.grantId === undefined ? undefined : grantKeyFor(model, payload.grantId),
        payload.accountId === undefined ? undefined : accountKeyFor(model, payload.accountId),
      ].filter((index) => index !== undefined);
      await Promise.all(indexes.map((index) => oneKey(ttl === undefined
        ? redis.multi().sadd(index, key).persist(index)
        : redis.multi().sadd(index, key).eval(EXTEND_TTL, 1, index, ttl))));
      const pointers = [
        payload.uid === undefined ? undefined : uidKeyFor(model, payload.uid),
        payload.userCode === undefined ? undefined : userCodeKeyFor(model, payload.userCode),
      ].filter((pointer) => pointer !== undefined);
      // HSET keeps an existing `consumed` field: consumption is permanent, as in the other backends.
      const artifact = redis.multi().hset(key, 'payload', JSON.stringify(payload));
      await Promise.all([
        oneKey(ttl === undefined ? artifact.persist(key) : artifact.expire(key, ttl)),
        ...pointers.map((pointer) => (ttl === undefined ? redis.set(pointer, id) : redis.set(pointer, id, 'EX', ttl))),
      ]);
    },
    find: (model, id) => findByKey(keyFor(model, id)),
    findByUid: (model, uid) => findByPointer(uidKeyFor(model, uid), model),
    findByUserCode: (model, userCode) => findByPointer(userCodeKeyFor(model, userCode), model),
    async consume(model, id) {
      const result = await redis.eval(CONSUME, 1, keyFor(model, id), Math.floor(Date.now() / 1000));
      return result === 1;
    },
    async destroy(model, id) {
      return (await redis.del(keyFor(model, id))) === 1;
    },
    async revokeByGrantId(model, grantId) {
      const index = grantKeyFor(model, grantId);
      const keys = await redis.smembers(index);
      await Promise.all(keys.map((key) => redis.del(key)));
      // Only the members read: an artifact indexed meanwhile stays findable (Redis drops an emptied set).
      if (keys.length) await redis.srem(index, ...keys);
    },
    async listByAccountId(model, accountId) {
      const keys = await redis.smembers(accountKeyFor(model, accountId));
      const found = await Promise.all(keys.map(async (key) => ({ id: key.slice(keyFor(model, '').length), payload: await findByKey(key) })));
      // Set members outlive the artifacts they name (expired or destroyed): those are skipped.
      return found.filter((entry): entry is { id: string; payload: ArtifactPayload } => entry.payload !== undefined);
    },
  };
}
