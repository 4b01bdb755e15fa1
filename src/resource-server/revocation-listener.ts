import type { Redis } from 'ioredis';
import { createRedisClient } from '../storage/redis/redis-client.ts';
import type { AccessTokenClaims, RevocationCheck } from './verify-access-token.ts';

interface RevocationMessage {
  kind: 'grant' | 'subject' | 'client' | 'session';
  value: string;
  at: number;
}

export interface RevocationListenerOptions {
  /** Redis mode: subscribe to the issuer's channel (events arrive at once). */
  redis?: { url: string; channel: string };
  /** Any mode: poll the issuer's GET /revocations as a resource-server application. */
  poll?: { url: string; clientId: string; clientSecret: string; intervalMs?: number };
  /** How long a revocation is remembered: at least the access tokens' lifetime. */
  retentionMs?: number;
}

export interface RevocationListener extends RevocationCheck {
  /** Resolves once the events already published have been read (first poll, subscription). */
  ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Keeps the revocations a resource server must honour: a token is refused when its grant, its
 * subject or its client was revoked at or after the token was issued. With Redis the events
 * arrive by pub/sub; polling (every 250 ms by default) works everywhere, and also catches up on
 * events published before this process started.
 */
export function createRevocationListener(options: RevocationListenerOptions): RevocationListener {
  const retentionMs = options.retentionMs ?? 60 * 60_000;
  const revokedAt = new Map<string, number>();
  const apply = (event: RevocationMessage) => {
    const key = `${event.kind}:${event.value}`;
    revokedAt.set(key, Math.max(revokedAt.get(key) ?? 0, event.at));
  };
  const prune = () => {
    const horizon = Date.now() - retentionMs;
    for (const [key, at] of revokedAt) if (at < horizon) revokedAt.delete(key);
  };

  const waits: Promise<void>[] = [];
  let subscriber: Redis | undefined;
  if (options.redis) {
    subscriber = createRedisClient(options.redis.url, { lazyConnect: false });
    subscriber.on('error', () => {});
    subscriber.on('message', (_channel: string, message: string) => {
      try {
        apply(JSON.parse(message) as RevocationMessage);
      } catch {
        // A malformed message revokes nothing.
      }
    });
    waits.push(subscriber.subscribe(options.redis.channel).then(() => undefined));
  }

  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  if (options.poll) {
    const { url, clientId, clientSecret, intervalMs = 250 } = options.poll;
    const authorization = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
    let since = Date.now() - retentionMs;
    const pollOnce = async () => {
      const response = await fetch(`${url}?since=${since}`, { headers: { authorization } });
      if (!response.ok) throw new Error(`GET /revocations answered ${response.status}`);
      const body = (await response.json()) as { events: RevocationMessage[]; now: number };
      body.events.forEach(apply);
      // A little overlap: an event written while this answer was being read is not missed.
      since = body.now - 2000;
      prune();
    };
    const loop = () => {
      if (closed) return;
      timer = setTimeout(() => { pollOnce().catch(() => undefined).finally(loop); }, intervalMs);
      timer.unref();
    };
    waits.push(pollOnce().finally(loop));
  }

  return {
    ready: Promise.all(waits).then(() => undefined),
    isRevoked(claims: AccessTokenClaims) {
      // issued_at_ms is exact; a token without it counts as issued at the very start of its iat second,
      // so one of the same second as a revocation is refused (never wrongly accepted).
      const issuedAt = typeof claims.issued_at_ms === 'number' ? claims.issued_at_ms : (claims.iat ?? 0) * 1000;
      return [`grant:${claims.grant_id}`, `subject:${claims.sub}`, `client:${claims.client_id}`,
        `session:${claims.session_uid}:${claims.client_id}`]
        .some((key) => (revokedAt.get(key) ?? -1) >= issuedAt);
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      subscriber?.disconnect();
    },
  };
}
