// The API JWT access token as UserInfo finds it (src/oidc/userinfo-access-token.ts): each RFC 9068
// check, the UserInfo-only gate, and the stored form handed to oidc-provider's own rules.
import { describe, expect, it } from '@jest/globals';
import { createPrivateKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { SigningJwk } from '../../src/keys/key-timeline.ts';
import { createUserinfoAccessTokenFinder } from '../../src/oidc/userinfo-access-token.ts';

const ISSUER = 'https://id.example.test';
const AUDIENCE = 'urn:tokenim:api';

const signingJwk = (kid: string): SigningJwk => ({
  ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' });
const [current, retired, foreign] = [signingJwk('current'), signingJwk('retired'), signingJwk('current')];

const GRANTS: Record<string, string> = { live: 'openid email', offline: 'openid profile offline_access' };

/** A request on `route`, with a provider whose Grant.find knows the GRANTS. */
const requestOn = (route: string) => () => ({ oidc: { route, provider: { Grant: {
  find: async (id: string) => (GRANTS[id] === undefined ? undefined : { getOIDCScope: () => GRANTS[id] }),
} } } }) as unknown as KoaContextWithOIDC;

const finder = (route: string | undefined) => createUserinfoAccessTokenFinder({ issuer: ISSUER, audience: AUDIENCE,
  publishedKeys: () => [current, retired], currentRequest: route === undefined ? () => undefined : requestOn(route) });

const now = () => Math.floor(Date.now() / 1000);

/** An access token as the provider issues it for the API (lib/models/formats/jwt.js plus extraTokenClaims). */
function accessToken(overrides: { claims?: JWTPayload; typ?: string; key?: SigningJwk } = {}) {
  const key = overrides.key ?? current;
  const claims: JWTPayload = { jti: randomUUID(), sub: 'account-1', iat: now(), exp: now() + 600, scope: 'message:send',
    client_id: 'chat-web', iss: ISSUER, aud: AUDIENCE, grant_id: 'live', session_uid: 'session-1', userinfo_scope: 'openid email',
    session_bound: true, ...overrides.claims };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: overrides.typ ?? 'at+jwt', kid: key.kid })
    .sign(createPrivateKey({ key, format: 'jwk' }));
}

describe('at the UserInfo endpoint', () => {
  const find = finder('userinfo');

  it('our API token stands for the stored access token: no aud, the OIDC scopes of its grant, bound to its session and key', async () => {
    const token = await accessToken({ claims: { cnf: { jkt: 'thumbprint' } } });
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(await find(token)).toEqual({ kind: 'AccessToken', jti: claims.jti, iat: claims.iat, exp: claims.exp, accountId: 'account-1',
      clientId: 'chat-web', grantId: 'live', scope: 'openid email', sessionUid: 'session-1', expiresWithSession: true, jkt: 'thumbprint' });
  });

  it('a token issued not to end with the session (offline_access asked): not bound to it; the scopes it was issued for', async () => {
    expect(await find(await accessToken({ claims: { grant_id: 'offline', userinfo_scope: 'openid offline_access', session_bound: undefined } })))
      .toMatchObject({ scope: 'openid offline_access', sessionUid: 'session-1', expiresWithSession: false });
  });

  it('a grant that gathered more scopes since (another device): only those the token was issued for', async () => {
    expect(await find(await accessToken({ claims: { grant_id: 'offline', userinfo_scope: 'openid' } })))
      .toMatchObject({ scope: 'openid', expiresWithSession: true });
  });

  it('signed by a retired key still published: found', async () => {
    expect(await find(await accessToken({ key: retired }))).toMatchObject({ grantId: 'live' });
  });

  it.each([
    ['another key with a kid of ours', { key: foreign }],
    ['typ JWT (RFC 9068 §4: at+jwt)', { typ: 'JWT' }],
    ['another issuer', { claims: { iss: 'https://elsewhere.example.test' } }],
    ['another audience', { claims: { aud: 'urn:other:api' } }],
    ['expired', { claims: { iat: now() - 1200, exp: now() - 600 } }],
    ['no grant (client credentials)', { claims: { grant_id: undefined, sub: 'chat-web' } }],
    ['an authorization that did not ask for openid', { claims: { userinfo_scope: undefined } }],
    ['a grant that is gone (revoked)', { claims: { grant_id: 'revoked' } }],
  ] as const)('%s: not found', async (_what, overrides) => {
    expect(await find(await accessToken(overrides))).toBeUndefined();
  });

  it('an opaque value or garbage: not found here (the store is asked)', async () => {
    expect(await find('Zx8opaque-token-value_1234567890')).toBeUndefined();
    expect(await find('a.b.c')).toBeUndefined();
  });
});

describe('anywhere else', () => {
  it.each([['introspection'], ['revocation'], ['token']])('on the %s route: not found', async (route) => {
    expect(await finder(route)(await accessToken())).toBeUndefined();
  });

  it('outside a request: not found', async () => {
    expect(await finder(undefined)(await accessToken())).toBeUndefined();
  });
});
