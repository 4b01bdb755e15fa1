// The one decision on a presented API key (issue 10, items 2 and 6).
import { createSecretKey } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { checkClientSecret, createRememberingSecretCheck, secretStatus } from '../../src/applications/check-client-secret.ts';
import { hashClientSecret } from '../../src/applications/client-secret.ts';
import type { ClientSecretRecord } from '../../src/storage/contract.ts';

const key = createSecretKey(Buffer.alloc(32, 7));
const now = new Date('2026-06-01T00:00:00Z');
const at = (hours: number) => new Date(now.getTime() + hours * 3_600_000);
const record = (secret: string, overrides: Partial<ClientSecretRecord> = {}): ClientSecretRecord => ({
  id: `sec_${secret}`, hint: secret.slice(-4), hash: hashClientSecret(key, secret), createdAt: at(-48), expiresAt: null,
  replacedAt: null, graceEndsAt: null, revokedAt: null, lastUsedAt: null, expiryNoticesSent: [], expiredUseRecordedAt: null, ...overrides,
});
const live = { revokedAt: null, disabledAt: null };

describe('checkClientSecret', () => {
  it('accepts a live key and names it', () => {
    expect(checkClientSecret(key, { ...live, secrets: [record('a'), record('b')] }, 'b', now)).toEqual({ ok: true, secretId: 'sec_b' });
  });
  it('an unknown key → no_match, even for a revoked application', () => {
    expect(checkClientSecret(key, { ...live, secrets: [record('a')] }, 'x', now)).toEqual({ ok: false, reason: 'no_match' });
    expect(checkClientSecret(key, { ...live, revokedAt: at(-1), secrets: [record('a')] }, 'x', now)).toEqual({ ok: false, reason: 'no_match' });
  });
  it('a real key of a revoked application, or of one an administrator disabled → disabled', () => {
    expect(checkClientSecret(key, { ...live, revokedAt: at(-1), secrets: [record('a')] }, 'a', now)).toEqual({ ok: false, reason: 'disabled' });
    expect(checkClientSecret(key, { ...live, disabledAt: at(-1), secrets: [record('a')] }, 'a', now)).toEqual({ ok: false, reason: 'disabled' });
  });
  it('an expired key → expired, with when; a key expiring later still works', () => {
    const secrets = [record('new', { expiresAt: at(-1) }), record('old', { expiresAt: at(1), replacedAt: at(-2), graceEndsAt: at(2) })];
    expect(checkClientSecret(key, { ...live, secrets }, 'new', now)).toEqual({ ok: false, reason: 'expired', secretId: 'sec_new', at: at(-1) });
    expect(checkClientSecret(key, { ...live, secrets }, 'old', now)).toEqual({ ok: true, secretId: 'sec_old' });
  });
  it('a replaced key whose grace ended, or that was revoked → replaced, with the rotation time', () => {
    const graceOver = record('a', { replacedAt: at(-3), graceEndsAt: at(-1) });
    const revoked = record('b', { replacedAt: at(-3), graceEndsAt: at(5), revokedAt: at(-1) });
    expect(checkClientSecret(key, { ...live, secrets: [graceOver] }, 'a', now)).toEqual({ ok: false, reason: 'replaced', secretId: 'sec_a', at: at(-3) });
    expect(checkClientSecret(key, { ...live, secrets: [revoked] }, 'b', now)).toMatchObject({ reason: 'replaced' });
  });
  it('a replaced key that expired before its grace ended → expired', () => {
    const secret = record('a', { replacedAt: at(-3), graceEndsAt: at(5), expiresAt: at(-1) });
    expect(checkClientSecret(key, { ...live, secrets: [secret] }, 'a', now)).toMatchObject({ reason: 'expired', at: at(-1) });
  });
});

// Issue 12, item 2: the token endpoint's check remembers the key it last accepted per client version.
describe('createRememberingSecretCheck', () => {
  it('decides as checkClientSecret does, the remembered key included: it still expires on time', () => {
    const check = createRememberingSecretCheck(key);
    const version = {};
    const application = { ...live, secrets: [record('a', { expiresAt: at(1) }), record('b')] };
    expect(check(version, application, 'a', now)).toEqual({ ok: true, secretId: 'sec_a' });
    expect(check(version, application, 'a', now)).toEqual({ ok: true, secretId: 'sec_a' });
    expect(check(version, application, 'x', now)).toEqual({ ok: false, reason: 'no_match' });
    expect(check(version, application, 'a', at(2))).toEqual({ ok: false, reason: 'expired', secretId: 'sec_a', at: at(1) });
    expect(check(version, application, 'b', at(2))).toEqual({ ok: true, secretId: 'sec_b' });
  });
  it('remembers per version: another version of the keys is checked against its own hashes', () => {
    const check = createRememberingSecretCheck(key);
    expect(check({}, { ...live, secrets: [record('a')] }, 'a', now)).toMatchObject({ ok: true });
    // Same secret, a new version whose stored hash is another key's: the remembered digest is not used.
    const rotated = { ...live, secrets: [{ ...record('a'), hash: record('z').hash }] };
    expect(check({}, rotated, 'a', now)).toEqual({ ok: false, reason: 'no_match' });
  });
});

describe('secretStatus', () => {
  it.each([
    ['active', record('a', { expiresAt: at(24 * 30) }), live],
    ['expiring', record('a', { expiresAt: at(24 * 13) }), live],
    ['in_grace', record('a', { replacedAt: at(-1), graceEndsAt: at(1) }), live],
    ['expired', record('a', { expiresAt: at(-1) }), live],
    ['expired', record('a', { replacedAt: at(-2), graceEndsAt: at(-1) }), live],
    ['revoked', record('a', { replacedAt: at(-2), graceEndsAt: at(1), revokedAt: at(-1) }), live],
    ['revoked', record('a'), { revokedAt: at(-1) }],
  ] as const)('%s', (status, secret, application) => {
    expect(secretStatus(application, secret, now)).toBe(status);
  });
});
