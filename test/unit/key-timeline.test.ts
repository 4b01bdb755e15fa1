// The signing-key timeline: published first, signing after the publish delay, retired keys
// published until every token they signed has expired, then dropped.
import { describe, expect, it } from '@jest/globals';
import {
  addGeneration, generationsOfLegacyKeyring, publishedKeysAt, retiredKeyRetentionSeconds, type KeyGeneration, type SigningJwk,
} from '../../src/keys/key-timeline.ts';

const key = (kid: string, alg: SigningJwk['alg'] = 'ES256'): SigningJwk => ({ kty: alg === 'ES256' ? 'EC' : 'RSA', kid, alg, use: 'sig' });
const pair = (name: string) => [key(`${name}-ec`), key(`${name}-rsa`, 'RS256')];
const kids = (keys: SigningJwk[]) => keys.map((k) => k.kid);

const T0 = Date.parse('2026-01-01T00:00:00Z');
const DELAY = 600_000;
const RETENTION = 3_600_000;
const first: KeyGeneration = { keys: pair('g1'), publishedAt: new Date(T0 - 86_400_000).toISOString(), signsFrom: new Date(T0 - 86_400_000).toISOString() };

describe('keys rotate: the timeline', () => {
  const rotation = addGeneration([first], pair('g2'), T0, DELAY, RETENTION);

  it('publishes the new keys at once, behind the ones that sign (oidc-provider signs with the first key of an alg)', () => {
    const now = publishedKeysAt(rotation.generations, T0, RETENTION);
    expect(kids(now.keys)).toEqual(['g1-ec', 'g1-rsa', 'g2-ec', 'g2-rsa']);
    expect(now.signingKids).toEqual(['g1-ec', 'g1-rsa']);
    expect(now.changesAt).toBe(T0 + DELAY);
    expect(rotation).toMatchObject({
      added: { publishedAt: new Date(T0).toISOString(), signsFrom: new Date(T0 + DELAY).toISOString() },
      retiredKids: ['g1-ec', 'g1-rsa'], retiredUnpublishedAt: new Date(T0 + DELAY + RETENTION).toISOString(), removedKids: [],
    });
  });

  it('signs with the new keys from the end of the publish delay; the retired ones stay published', () => {
    expect(publishedKeysAt(rotation.generations, T0 + DELAY - 1, RETENTION).signingKids).toEqual(['g1-ec', 'g1-rsa']);
    const after = publishedKeysAt(rotation.generations, T0 + DELAY, RETENTION);
    expect(after.signingKids).toEqual(['g2-ec', 'g2-rsa']);
    expect(kids(after.keys)).toEqual(['g2-ec', 'g2-rsa', 'g1-ec', 'g1-rsa']);
    expect(after.changesAt).toBe(T0 + DELAY + RETENTION);
  });

  it('unpublishes a retired key once every token it signed has expired, and the next rotation drops it', () => {
    expect(kids(publishedKeysAt(rotation.generations, T0 + DELAY + RETENTION - 1, RETENTION).keys)).toContain('g1-ec');
    const later = publishedKeysAt(rotation.generations, T0 + DELAY + RETENTION, RETENTION);
    expect(kids(later.keys)).toEqual(['g2-ec', 'g2-rsa']);
    expect(later.changesAt).toBeUndefined();
    const next = addGeneration(rotation.generations, pair('g3'), T0 + DELAY + RETENTION, DELAY, RETENTION);
    expect(next.removedKids).toEqual(['g1-ec', 'g1-rsa']);
    expect(next.generations.map((g) => g.keys[0]!.kid)).toEqual(['g3-ec', 'g2-ec']);
  });

  it('two rotations within the delay: the newer wins from its own time, the one between retires then', () => {
    const again = addGeneration(rotation.generations, pair('g3'), T0 + 60_000, DELAY, RETENTION);
    expect(again.retiredKids).toEqual(['g2-ec', 'g2-rsa']);
    expect(publishedKeysAt(again.generations, T0 + DELAY, RETENTION).signingKids).toEqual(['g2-ec', 'g2-rsa']);
    const third = publishedKeysAt(again.generations, T0 + 60_000 + DELAY, RETENTION);
    expect(third.signingKids).toEqual(['g3-ec', 'g3-rsa']);
    expect(kids(third.keys)).toEqual(['g3-ec', 'g3-rsa', 'g2-ec', 'g2-rsa', 'g1-ec', 'g1-rsa']);
    // g1 retired when g2 started signing; g2 when g3 did.
    expect(kids(publishedKeysAt(again.generations, T0 + DELAY + RETENTION, RETENTION).keys)).not.toContain('g1-ec');
    expect(kids(publishedKeysAt(again.generations, T0 + DELAY + RETENTION, RETENTION).keys)).toContain('g2-ec');
  });

  it('a delay of 0 signs at once', () => {
    const now = addGeneration([first], pair('g2'), T0, 0, RETENTION);
    expect(publishedKeysAt(now.generations, T0, RETENTION).signingKids).toEqual(['g2-ec', 'g2-rsa']);
  });

  it('keeps retired keys for the longest life of what they signed, logout hints included', () => {
    const ttl = { authorizationCodeSeconds: 60, idTokenSeconds: 3600, interactionSeconds: 900, sessionSeconds: 1209600,
      sessionAbsoluteSeconds: 1209600, refreshTokenSeconds: 2592000, grantSeconds: 31536000 };
    expect(retiredKeyRetentionSeconds({ api: { audience: 'a', accessTokenTtlSeconds: 600 }, ttl })).toBe(1209600 + 60);
    expect(retiredKeyRetentionSeconds({ api: { audience: 'a', accessTokenTtlSeconds: 600 },
      ttl: { ...ttl, sessionAbsoluteSeconds: 60, idTokenSeconds: 7200 } })).toBe(7200 + 60);
  });

  it('reads keyrings stored before the timeline: the first pair signs, the previous one stays published', () => {
    const legacy = generationsOfLegacyKeyring([...pair('new'), ...pair('old')], new Date(T0).toISOString());
    const now = publishedKeysAt(legacy, T0 + 1000, RETENTION);
    expect(now.signingKids).toEqual(['new-ec', 'new-rsa']);
    expect(kids(now.keys)).toEqual(['new-ec', 'new-rsa', 'old-ec', 'old-rsa']);
  });
});
