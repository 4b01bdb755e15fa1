import { createFailureLimiter, type FailureCounters, type FailureLimiter } from '../shared/failure-limiter.ts';
import type { ThrottleSettings } from '../accounts/login-throttle.ts';

/** After this many wrong codes in one sign-in, the sign-in starts over from the password. */
export const MFA_STRIKES_PER_SIGN_IN = 5;

export interface MfaLimits {
  /** Wrong codes within one sign-in (keyed by interaction). */
  perSignIn: FailureLimiter;
  /** Wrong codes for one account across sign-ins and instances (NIST SP 800-63B §5.2.2). */
  perAccount: FailureLimiter;
}

export function createMfaLimits(settings: ThrottleSettings, counters: FailureCounters): MfaLimits {
  const window = { windowSeconds: settings.windowSeconds, blockSeconds: settings.blockSeconds };
  return {
    perSignIn: createFailureLimiter({ name: 'mfa-sign-in', points: MFA_STRIKES_PER_SIGN_IN, ...window }, counters),
    perAccount: createFailureLimiter({ name: 'mfa-account', points: settings.failuresPerAccount, ...window }, counters),
  };
}
