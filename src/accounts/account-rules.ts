import { AppError } from '../shared/app-error.ts';

// NIST SP 800-63B §3.1.1.2 / ASVS 5 6.2: at least 8 characters, at least 64 allowed, no composition
// rules, never truncated. The upper bound only keeps a megabyte "password" away from argon2.
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 1024;

/** Trimmed and lower-cased, so that one person cannot hold two accounts by changing case. */
export function normalizeEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (email.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    throw new AppError('invalid_email', 'enter a valid email address, like name@example.com');
  }
  return email;
}

export function checkPasswordRules(password: string): void {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) {
    throw new AppError('password_too_short', `the password needs at least ${PASSWORD_MIN_LENGTH} characters`, {
      params: { min: PASSWORD_MIN_LENGTH },
    });
  }
  if (length > PASSWORD_MAX_LENGTH) {
    throw new AppError('password_too_long', `the password can have at most ${PASSWORD_MAX_LENGTH} characters`, {
      params: { max: PASSWORD_MAX_LENGTH },
    });
  }
}
