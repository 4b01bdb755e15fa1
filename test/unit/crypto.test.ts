import { createSecretKey } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { deriveKey, open, seal } from '../../src/crypto/secret-box.ts';
import { hashPassword, verifyPassword } from '../../src/accounts/password-hash.ts';
import { clientSecretMatches, generateClientSecret, hashClientSecret } from '../../src/applications/client-secret.ts';

describe('secret box (AES-256-GCM under a key derived from SECRET_KEY)', () => {
  const key = deriveKey('x'.repeat(32), 'keyring');

  it('opens what it sealed, with the same associated data', () => {
    expect(open(key, seal(key, 'secret', 'ad'), 'ad')).toBe('secret');
  });

  it('refuses another key, other associated data and altered ciphertext', () => {
    const sealed = seal(key, 'secret', 'ad');
    expect(() => open(deriveKey('y'.repeat(32), 'keyring'), sealed, 'ad')).toThrow(/SECRET_KEY differs/);
    expect(() => open(key, sealed, 'other')).toThrow(/SECRET_KEY differs/);
    const parts = sealed.split('.');
    parts[3] = Buffer.from('tampered').toString('base64url');
    expect(() => open(key, parts.join('.'), 'ad')).toThrow(/SECRET_KEY differs/);
  });

  it('derives different keys for different purposes', () => {
    expect(deriveKey('x'.repeat(32), 'a').equals(deriveKey('x'.repeat(32), 'b'))).toBe(false);
  });
});

describe('password hashing (argon2id, OWASP parameters)', () => {
  it('verifies the right password only, and never stores it', async () => {
    const hash = await hashPassword('correct horse battery staple');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(hash).not.toContain('correct horse');
    expect(await verifyPassword('correct horse battery staple', hash)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', hash)).toBe(false);
    expect(await verifyPassword('x', 'not a hash')).toBe(false);
  });

  it('salts: the same password hashes differently twice', async () => {
    expect(await hashPassword('same password')).not.toBe(await hashPassword('same password'));
  });
});

describe('client secrets (keyed hash)', () => {
  const key = createSecretKey(deriveKey('x'.repeat(32), 'client-secret'));

  it('are 256-bit, prefixed and match only their own hash under the same key', () => {
    const secret = generateClientSecret();
    expect(secret).toMatch(/^tkm_sk_[A-Za-z0-9_-]{43}$/);
    const hash = hashClientSecret(key, secret);
    expect(clientSecretMatches(key, secret, hash)).toBe(true);
    expect(clientSecretMatches(key, generateClientSecret(), hash)).toBe(false);
    expect(clientSecretMatches(createSecretKey(deriveKey('y'.repeat(32), 'client-secret')), secret, hash)).toBe(false);
  });
});
