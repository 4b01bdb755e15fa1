import type { KeyringService } from './keyring.ts';
import { publishedKeysAt, type PublishedKeys } from './key-timeline.ts';

export interface KeyringWatcherOptions {
  keyrings: KeyringService;
  /** How often the keyring's version is read (config keys.pollIntervalSeconds). */
  pollIntervalMs: number;
  /** How long a retired key stays published (retiredKeyRetentionSeconds). */
  retentionMs: number;
  /** A failed read: the keys in use stay as they are and the next round tries again. */
  onError(error: unknown): void;
}

export interface KeyringWatcher {
  /** The cookie-signing keys read at start: the process keeps them (sessions and interactions stay valid). */
  readonly cookieKeys: string[];
  /** What this instance publishes and signs with now. */
  readonly published: PublishedKeys;
  /** Calls `apply` whenever what is published or signs changes, until stop(). */
  start(apply: (published: PublishedKeys) => void): void;
  stop(): void;
}

const sameKeys = (a: PublishedKeys, b: PublishedKeys) =>
  a.keys.map((k) => k.kid).join(' ') === b.keys.map((k) => k.kid).join(' ') && a.signingKids.join(' ') === b.signingKids.join(' ');

/**
 * Every instance follows the keyring without a restart: it reads the stored version every poll
 * interval and the whole keyring only when that changed (another process ran `keys rotate`), and
 * wakes at the moments the timeline names (a next key starts signing, a retired one leaves).
 * Polling works the same on SQLite and MongoDB; the publish delay absorbs its latency.
 */
export async function watchKeyring(options: KeyringWatcherOptions): Promise<KeyringWatcher> {
  const { keyrings, pollIntervalMs, retentionMs, onError } = options;
  let { keyring, version } = await keyrings.loadVersioned();
  let published = publishedKeysAt(keyring.generations, Date.now(), retentionMs);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const refresh = async () => {
    const stored = await keyrings.version();
    if (stored === version) return;
    ({ keyring, version } = await keyrings.loadVersioned());
  };

  const schedule = (apply: (published: PublishedKeys) => void) => {
    if (stopped) return;
    const untilChange = published.changesAt === undefined ? Infinity : Math.max(0, published.changesAt - Date.now());
    timer = setTimeout(() => void round(apply), Math.min(pollIntervalMs, untilChange)).unref();
  };

  const round = async (apply: (published: PublishedKeys) => void) => {
    try {
      await refresh();
    } catch (error) {
      onError(error);
    }
    if (stopped) return;
    const now = publishedKeysAt(keyring.generations, Date.now(), retentionMs);
    if (!sameKeys(now, published)) {
      try {
        apply(now);
        published = now;
      } catch (error) {
        onError(error);
      }
    } else {
      published = now;
    }
    schedule(apply);
  };

  return {
    cookieKeys: keyring.cookie,
    get published() { return published; },
    start: (apply) => schedule(apply),
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
