import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// A recognisable prefix lets secret scanners find leaked keys (as GitHub's and Stripe's do).
const SECRET_PREFIX = 'tkm_sk_';

/** 256 random bits. */
export function generateClientSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function generateClientId(): string {
  return `tkm_${randomBytes(12).toString('base64url')}`;
}

/**
 * Secrets are 256 random bits, so a fast keyed hash is enough (nothing to brute-force; argon2 is
 * for passwords). The key comes from SECRET_KEY: a leaked database alone cannot check a guess.
 */
export function hashClientSecret(key: Buffer, secret: string): string {
  return `hmac-sha256:${createHmac('sha256', key).update(secret).digest('base64url')}`;
}

export function clientSecretMatches(key: Buffer, secret: string, hash: string): boolean {
  const actual = Buffer.from(hashClientSecret(key, secret));
  const expected = Buffer.from(hash);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** What identifies a key to its owner without revealing it: its last 4 characters. */
export const secretHint = (secret: string): string => secret.slice(-4);
