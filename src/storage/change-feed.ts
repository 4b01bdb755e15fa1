import type { Redis } from 'ioredis';
import type { ChangeCounterStore } from './contract.ts';

/**
 * Without Redis, how stale another process's view may be: each process reads the counter at most
 * this often, and only when it is asked (a lookup), so an idle process reads nothing.
 */
export const CHANGE_POLL_MS = 250;

/**
 * Tells every instance that data it keeps in memory changed. The writing process's own watchers
 * hear at once; other instances through Redis pub/sub in Redis mode (at once), else through a
 * counter in the durable store that they read at most every CHANGE_POLL_MS (every process on one
 * SQLite file, or on one MongoDB, sees the same row).
 */
export interface ChangeFeed {
  /** Called after the write has been stored. */
  announce(): Promise<void>;
  /** `onChange` runs for every change announced since, by any instance; one announcement may run it more than once. */
  watch(onChange: () => void): ChangeWatch;
}

export interface ChangeWatch {
  /**
   * Before memory is used: true once every change announced before this call has reached
   * `onChange` (a counter read when the last is older than CHANGE_POLL_MS); false while changes
   * can be missed (the Redis subscription is down, the counter unreadable): memory must not be
   * trusted then.
   */
  sync(): boolean | Promise<boolean>;
  close(): void;
}

export function createChangeFeed(topic: string, counters: ChangeCounterStore, redis: Redis | undefined, keyPrefix: string): ChangeFeed {
  const local = new Set<() => void>();
  const channel = `${keyPrefix}changes:${topic}`;
  return {
    async announce() {
      for (const onChange of local) onChange();
      // Best effort, as revocations are published: when Redis cannot take it, the subscribers
      // are cut off too, so they trust nothing until they resubscribe (and then drop everything).
      if (redis) await redis.publish(channel, topic).catch(() => undefined);
      else await counters.bumpChangeCounter(topic);
    },
    watch(onChange) {
      local.add(onChange);
      const remote = redis ? subscribe(redis, channel, onChange) : poll(counters, topic, onChange);
      return {
        sync: remote.sync,
        close() {
          local.delete(onChange);
          remote.close();
        },
      };
    },
  };
}

/**
 * A connection of its own (one that subscribes can send nothing else). Messages sent while it is
 * down are lost, so it is trusted only from a (re)subscription on, and each (re)subscription
 * counts as a change.
 */
function subscribe(redis: Redis, channel: string, onChange: () => void): ChangeWatch {
  const subscriber = redis.duplicate({ autoResubscribe: false, enableOfflineQueue: false });
  let isLive = false;
  subscriber.on('error', () => {});
  subscriber.on('close', () => { isLive = false; });
  subscriber.on('ready', () => {
    subscriber.subscribe(channel).then(() => {
      onChange();
      isLive = true;
    }, () => subscriber.disconnect(true));
  });
  subscriber.on('message', (from: string) => {
    if (from === channel) onChange();
  });
  return { sync: () => isLive, close: () => subscriber.disconnect() };
}

function poll(counters: ChangeCounterStore, topic: string, onChange: () => void): ChangeWatch {
  let seen: number | undefined;
  let readAt = -Infinity;
  let reading: Promise<boolean> | undefined;
  const read = async () => {
    const startedAt = Date.now();
    try {
      const value = await counters.readChangeCounter(topic);
      if (value !== seen) onChange();
      seen = value;
      readAt = startedAt;
      return true;
    } catch {
      return false;
    } finally {
      reading = undefined;
    }
  };
  return {
    sync: () => (Date.now() - readAt < CHANGE_POLL_MS ? true : (reading ??= read())),
    close: () => {},
  };
}
