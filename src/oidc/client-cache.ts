import type Provider from 'oidc-provider';
import type { Client } from 'oidc-provider';
import type { ChangeFeed } from '../storage/change-feed.ts';
import { CLIENT_SECRETS } from '../applications/client-metadata.ts';
import { secretEndsAt } from '../applications/check-client-secret.ts';
import { readStoredSecret, type StoredSecret } from '../storage/stored-secret.ts';

type FindClient = (id: string) => Promise<Client | undefined>;

/** The longest a client is kept without being read again, whatever was announced. */
const MAX_AGE_MS = 60_000;

interface Entry {
  client: Promise<Client | undefined>;
  /** Epoch ms: when one of its keys ends, the metadata (client_secret_expires_at) is made again. */
  validUntil: number;
}

/** The next moment one of the client's keys stops working (expiry, end of grace, revocation time); Infinity if none will. */
function nextKeyEnd(client: Client, now: number): number {
  const stored = (client as unknown as Record<string, unknown>)[CLIENT_SECRETS];
  const ends = (Array.isArray(stored) ? (stored as StoredSecret[]) : [])
    .map((s) => secretEndsAt(readStoredSecret(s))?.getTime() ?? Infinity)
    .filter((end) => end > now);
  return Math.min(Infinity, ...ends);
}

/**
 * oidc-provider looks the client up on every token, introspection and revocation request
 * (Client.find: the adapter's store read, the application decoded and turned into metadata, then
 * a SHA-256 of that metadata to find its Client). Each instance keeps the Client of every usable
 * application instead, until
 * - an application or its owner's roles change on any instance (`changes`: at once with Redis,
 *   else within CHANGE_POLL_MS): all are dropped, and a revoked or disabled application is then
 *   unknown to the provider (invalid_client, RFC 6749 §5.2);
 * - one of its keys ends: its metadata is made again. Whether a key works is decided on each
 *   request all the same (checkClientSecret with the time of the request).
 * - it has been kept for MAX_AGE_MS: a change whose announcement was lost (its counter bump failed
 *   after the write) is picked up then at the latest.
 * While changes could be missed (the counter unreadable) nothing kept is used. Unknown, revoked and
 * disabled client ids are not kept: guessed ids cannot grow the map, and every lookup of one
 * reaches the store as before.
 */
export function cacheClients(provider: Provider, changes: ChangeFeed): { close(): void } {
  const Clients = provider.Client as unknown as { find: FindClient };
  const load: FindClient = Clients.find.bind(Clients);
  const entries = new Map<string, Entry>();
  const watch = changes.watch(() => entries.clear());
  Clients.find = async (id) => {
    if (!(await watch.sync())) return load(id);
    const now = Date.now();
    const kept = entries.get(id);
    if (kept && kept.validUntil > now) return kept.client;
    // Concurrent lookups of one client share one load.
    const entry: Entry = { client: load(id), validUntil: now + MAX_AGE_MS };
    entries.set(id, entry);
    const forget = () => {
      if (entries.get(id) === entry) entries.delete(id);
    };
    try {
      const client = await entry.client;
      if (client) entry.validUntil = Math.min(entry.validUntil, nextKeyEnd(client, now));
      else forget();
      return client;
    } catch (error) {
      forget();
      throw error;
    }
  };
  return { close: () => watch.close() };
}
