import { describe, expect, it } from '@jest/globals';
import { createLoginThrottle, MAX_FAILURES_PER_HOUR } from '../../src/accounts/login-throttle.ts';

describe('login throttle', () => {
  it('never lets an account fail more than 100 times an hour, whatever the per-window setting', async () => {
    // A lax setting: 100 per minute, blocked for one second, would otherwise allow thousands an hour.
    const throttle = createLoginThrottle({ failuresPerAccount: 100, failuresPerIp: 100_000, windowSeconds: 60, blockSeconds: 1 });
    for (let i = 0; i < MAX_FAILURES_PER_HOUR - 1; i += 1) {
      expect(await throttle.recordFailure('cap@example.test', `10.0.${i >> 8}.${i & 255}`)).toBe(0);
    }
    expect(await throttle.recordFailure('cap@example.test', '10.1.0.1')).toBeGreaterThan(3000);
    expect(await throttle.retryAfter('cap@example.test', '10.1.0.2')).toBeGreaterThan(3000);
    expect(await throttle.retryAfter('someone.else@example.test', '10.1.0.2')).toBe(0);
  });

  it('counts an address across case and spaces as one account', async () => {
    const throttle = createLoginThrottle({ failuresPerAccount: 2, failuresPerIp: 1000, windowSeconds: 60, blockSeconds: 60 });
    await throttle.recordFailure('Ada@Example.test', '10.0.0.1');
    expect(await throttle.recordFailure(' ada@example.test ', '10.0.0.2')).toBeGreaterThan(0);
  });
});
