import { describe, expect, it } from '@jest/globals';
import { createLoginThrottle, MAX_FAILURES_PER_HOUR } from '../../src/accounts/login-throttle.ts';
import { wrongPassword } from '../helpers/throttle-attempts.ts';

describe('login throttle', () => {
  it('never lets an account fail more than 100 times an hour, whatever the per-window setting', async () => {
    // A lax setting: 100 per minute, blocked for one second, would otherwise allow thousands an hour.
    const throttle = createLoginThrottle({ failuresPerAccount: 100, failuresPerIp: 100_000, windowSeconds: 60, blockSeconds: 1 });
    for (let i = 0; i < MAX_FAILURES_PER_HOUR - 1; i += 1) {
      expect(await wrongPassword(throttle, 'cap@example.test', `10.0.${i >> 8}.${i & 255}`)).toBe(0);
    }
    expect(await wrongPassword(throttle, 'cap@example.test', '10.1.0.1')).toBeGreaterThan(3000);
    expect(await throttle.retryAfter('cap@example.test', '10.1.0.2')).toBeGreaterThan(3000);
    expect(await throttle.retryAfter('someone.else@example.test', '10.1.0.2')).toBe(0);
  });

  it('counts an address across case and spaces as one account', async () => {
    const throttle = createLoginThrottle({ failuresPerAccount: 2, failuresPerIp: 1000, windowSeconds: 60, blockSeconds: 60 });
    await wrongPassword(throttle, 'Ada@Example.test', '10.0.0.1');
    expect(await wrongPassword(throttle, ' ada@example.test ', '10.0.0.2')).toBeGreaterThan(0);
  });
});

describe('login throttle: attempts are counted before the password is checked', () => {
  const settings = { failuresPerAccount: 10, failuresPerIp: 1000, windowSeconds: 900, blockSeconds: 900 };

  it('of 20 concurrent attempts, only the limit (10) may be checked; the others are refused with a Retry-After', async () => {
    const throttle = createLoginThrottle(settings);
    const attempts = await Promise.all(Array.from({ length: 20 }, () => throttle.countAttempt('race@example.test', '10.0.0.1')));
    expect(attempts.filter((a) => a.isAllowed)).toHaveLength(10);
    for (const refused of attempts.filter((a) => !a.isAllowed)) expect(refused.retryAfter).toBeGreaterThan(800);
    // The 10th allowed is the last: if it is wrong, it locks (429 rather than 400).
    expect(attempts.filter((a) => a.isAllowed && a.retryAfterIfFailed > 0)).toHaveLength(1);
  });

  it('a right password is no failure: it resets the account count and adds nothing to the IP or hourly counts', async () => {
    const throttle = createLoginThrottle({ ...settings, failuresPerAccount: 3, failuresPerIp: 3 });
    for (let i = 0; i < 10; i += 1) {
      // Ten wrong ones in all, past the account's limit of 3 but for the resets in between.
      expect(await wrongPassword(throttle, 'ada@example.test', `10.0.2.${i}`)).toBe(0);
      const right = await throttle.countAttempt('ada@example.test', '10.0.1.1');
      if (!right.isAllowed) throw new Error(`attempt ${i} refused`);
      await right.succeeded();
    }
    // Ten successes from one IP whose limit is 3: still open, for another account too.
    expect(await throttle.retryAfter('grace@example.test', '10.0.1.1')).toBe(0);
  });

  it('a right password that signs nobody in (a disabled account) is taken back from every count', async () => {
    const throttle = createLoginThrottle({ ...settings, failuresPerAccount: 2 });
    await wrongPassword(throttle, 'off@example.test', '10.0.0.3');
    const right = await throttle.countAttempt('off@example.test', '10.0.0.3');
    if (!right.isAllowed) throw new Error('refused');
    await right.uncount();
    expect(await throttle.retryAfter('off@example.test', '10.0.0.3')).toBe(0);
    expect(await wrongPassword(throttle, 'off@example.test', '10.0.0.3')).toBeGreaterThan(0); // the 2nd failure locks
  });

  it('attempts refused by a lockout count nowhere: hammering a locked account does not lock its IP', async () => {
    const throttle = createLoginThrottle({ ...settings, failuresPerAccount: 2, failuresPerIp: 5 });
    await wrongPassword(throttle, 'locked@example.test', '10.0.0.4');
    expect(await wrongPassword(throttle, 'locked@example.test', '10.0.0.4')).toBeGreaterThan(0);
    for (let i = 0; i < 20; i += 1) expect((await throttle.countAttempt('locked@example.test', '10.0.0.4')).isAllowed).toBe(false);
    expect(await throttle.retryAfter('other@example.test', '10.0.0.4')).toBe(0);
  });
});
