import { createHmac, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';

/**
 * The HMAC key of client secret hashes, a KeyObject made once (createSecretKey): with a Buffer key
 * Node 24's createHmac converts it on every call, five times the cost of the hash itself.
 */
export type SecretHashKey = KeyObject;

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
export function hashClientSecret(key: SecretHashKey, secret: string): string {
  return `hmac-sha256:${createHmac('sha256', key).update(secret).digest('base64url')}`;
}

/** Compares two stored-form hashes in constant time. */
export function hashesEqual(actual: string, expected: string): boolean {
  const a = Buffer.from(actual);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function clientSecretMatches(key: SecretHashKey, secret: string, hash: string): boolean {
  return hashesEqual(hashClientSecret(key, secret), hash);
}

/** What identifies a key to its owner without revealing it: its last 4 characters. */
export const secretHint = (secret: string): string => secret.slice(-4);
