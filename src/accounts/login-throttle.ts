import { countAttempt, createFailureLimiter, createOnceMarker, type Attempt, type FailureCounters } from '../shared/failure-limiter.ts';

export const MAX_FAILURES_PER_HOUR = 100;

export interface ThrottleSettings {
  failuresPerAccount: number;
  failuresPerIp: number;
  windowSeconds: number;
  blockSeconds: number;
}

/**
 * A password attempt, counted before the password is checked (countAttempt): an Attempt whose
 * `uncount` serves a right password that signs nobody in (a disabled account: not a guess).
 */
export type PasswordAttempt = Exclude<Attempt, { isAllowed: true }> | (Extract<Attempt, { isAllowed: true }> & {
  /** The password was right: the account's count starts over (OWASP), and the attempt is taken back from the others. */
  succeeded(): Promise<void>;
});

export interface LoginThrottle {
  /** Seconds until the next attempt is allowed, or 0 when it is allowed now. */
  retryAfter(email: string, ip: string): Promise<number>;
  /** Counts a password attempt before its check: of concurrent attempts, at most the limit are allowed. */
  countAttempt(email: string, ip: string): Promise<PasswordAttempt>;
  /**
   * An attempt refused during a lockout: true for the first of the lockout, per account (or per IP
   * when only the IP is blocked), so that the ledger records each lockout once, not every attempt.
   */
  isFirstRefusal(email: string, ip: string): Promise<boolean>;
}

/**
 * Failed sign-ins per account and per client IP (ASVS 5 6.3.1, NIST SP 800-63B §5.2.2). Unknown
 * emails are counted like known ones, so the limiter tells nothing about who has an account.
 * Without counters given (unit tests) they are kept in this process.
 */
export function createLoginThrottle(settings: ThrottleSettings, counters: FailureCounters = { keyPrefix: 'tokenim:' }): LoginThrottle {
  const window = { windowSeconds: settings.windowSeconds, blockSeconds: settings.blockSeconds };
  const byAccount = createFailureLimiter({ name: 'login-account', points: settings.failuresPerAccount, ...window }, counters);
  const byIp = createFailureLimiter({ name: 'login-ip', points: settings.failuresPerIp, ...window }, counters);
  // A hard cap whatever the settings: never more than 100 failures per account per hour.
  const perHour = createFailureLimiter({ name: 'login-account-hour', points: MAX_FAILURES_PER_HOUR, windowSeconds: 3600,
    blockSeconds: 3600 }, counters);
  const refusals = createOnceMarker('login-refused', counters);
  const accountKey = (email: string) => email.trim().toLowerCase();
  const accountBlockedFor = async (email: string) =>
    Math.max(await byAccount.retryAfter(accountKey(email)), await perHour.retryAfter(accountKey(email)));
  const retryAfter = async (email: string, ip: string) => Math.max(await accountBlockedFor(email), await byIp.retryAfter(ip));
  return {
    retryAfter,
    async isFirstRefusal(email, ip) {
      const forAccount = await accountBlockedFor(email);
      if (forAccount > 0) return refusals.isFirst(`account:${accountKey(email)}`, forAccount);
      const forIp = await byIp.retryAfter(ip);
      return forIp > 0 && refusals.isFirst(`ip:${ip}`, forIp);
    },
    async countAttempt(email, ip) {
      const attempt = await countAttempt([[byAccount, accountKey(email)], [perHour, accountKey(email)], [byIp, ip]]);
      if (!attempt.isAllowed) return attempt;
      return {
        ...attempt,
        // OWASP: a successful sign-in resets the account's failure count (not the IP's, nor the hour's).
        async succeeded() {
          await attempt.uncount();
          await byAccount.reset(accountKey(email));
        },
      };
    },
  };
}
