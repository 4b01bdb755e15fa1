import type { Redis } from 'ioredis';
import type { ChangeCounterStore } from './contract.ts';

/**
 * How stale another process's view may be: each process reads the counter at most this often, and
 * only when it is asked (a lookup), so an idle process reads nothing.
 */
export const CHANGE_POLL_MS = 250;

/**
 * Tells every instance that data it keeps in memory changed. The writing process's own watchers
 * hear at once. Every change bumps a counter in the durable store, which each process reads at most
 * every CHANGE_POLL_MS (every process on one SQLite file, or on one MongoDB, sees the same row): that
 * bounds how stale any instance can be. In Redis mode the change is also published, so that other
 * instances usually hear at once; a lost message (a failed publish, a Cluster failover) only delays
 * it to the next counter read.
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
      await counters.bumpChangeCounter(topic);
      // Sooner than the counter, best effort: a lost message is caught by the next counter read.
      if (redis) await redis.publish(channel, topic).catch(() => undefined);
    },
    watch(onChange) {
      local.add(onChange);
      const counter = poll(counters, topic, onChange);
      const pushed = redis ? subscribe(redis, channel, onChange) : undefined;
      return {
        sync: counter.sync,
        close() {
          local.delete(onChange);
          pushed?.close();
        },
      };
    },
  };
}

/**
 * A connection of its own (one that subscribes can send nothing else). Messages sent while it is
 * down are lost: the counter catches those, and each (re)subscription counts as a change.
 */
function subscribe(redis: Redis, channel: string, onChange: () => void): { close(): void } {
  const options = { autoResubscribe: false, enableOfflineQueue: false };
  // A cluster client's duplicate() takes its seed nodes first ([]: the same ones).
  const subscriber = (redis as Redis & { isCluster?: boolean }).isCluster
    ? (redis as unknown as { duplicate(nodes: unknown[], options: object): Redis }).duplicate([], { redisOptions: options })
    : redis.duplicate(options);
  subscriber.on('error', () => {});
  subscriber.on('ready', () => {
    subscriber.subscribe(channel).then(onChange, () => subscriber.disconnect(true));
  });
  subscriber.on('message', (from: string) => {
    if (from === channel) onChange();
  });
  return { close: () => subscriber.disconnect() };
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
