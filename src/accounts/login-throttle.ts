import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

export interface ThrottleSettings {
  failuresPerAccount: number;
  failuresPerIp: number;
  windowSeconds: number;
  blockSeconds: number;
}

export interface LoginThrottle {
  /** Seconds until the next attempt is allowed, or 0 when it is allowed now. */
  retryAfter(email: string, ip: string): Promise<number>;
  /** Counts a failed attempt; returns retryAfter as it stands afterwards. */
  recordFailure(email: string, ip: string): Promise<number>;
  recordSuccess(email: string): Promise<void>;
}

// Emails are not kept in the limiter's keys (they would sit in Redis in clear).
const accountKey = (email: string) => createHash('sha256').update(email.trim().toLowerCase()).digest('base64url');

/**
 * Failed sign-ins per account and per client IP (ASVS 5 6.3.1, NIST SP 800-63B §5.2.2). In Redis
 * mode the counters live in Redis, so limits hold across instances; otherwise in this process.
 * Unknown emails are counted like known ones, so the limiter tells nothing about who has an account.
 */
export function createLoginThrottle(settings: ThrottleSettings, redis?: Redis, keyPrefix = 'tokenim:'): LoginThrottle {
  const make = (name: string, points: number): RateLimiterAbstract => {
    const options = { keyPrefix: `${keyPrefix}login-fail-${name}`, points, duration: settings.windowSeconds, blockDuration: settings.blockSeconds };
    return redis ? new RateLimiterRedis({ ...options, storeClient: redis }) : new RateLimiterMemory(options);
  };
  const byAccount = make('account', settings.failuresPerAccount);
  const byIp = make('ip', settings.failuresPerIp);

  const secondsLeft = (limiter: RateLimiterAbstract, state: RateLimiterRes | null) =>
    state && state.consumedPoints >= limiter.points ? Math.max(1, Math.ceil(state.msBeforeNext / 1000)) : 0;

  const retryAfter = async (email: string, ip: string) => {
    const [account, address] = await Promise.all([byAccount.get(accountKey(email)), byIp.get(ip)]);
    return Math.max(secondsLeft(byAccount, account), secondsLeft(byIp, address));
  };

  return {
    retryAfter,
    async recordFailure(email, ip) {
      const results = await Promise.allSettled([byAccount.consume(accountKey(email)), byIp.consume(ip)]);
      for (const result of results) {
        // A limiter rejects with RateLimiterRes when the limit is reached, with an Error when its store fails.
        if (result.status === 'rejected' && !(result.reason instanceof RateLimiterRes)) throw result.reason;
      }
      return retryAfter(email, ip);
    },
    async recordSuccess(email) {
      // OWASP: a successful sign-in resets the account's failure count (not the IP's).
      await byAccount.delete(accountKey(email));
    },
  };
}
