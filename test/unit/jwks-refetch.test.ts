// The resource server's JWKS cache: a token naming an unknown kid refetches the JWKS at once,
// but at most once per JWKS_REFETCH_COOLDOWN_MS (a few seconds, not 30 s), whatever the traffic.
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { createTokenVerifier, JWKS_REFETCH_COOLDOWN_MS } from '../../src/resource-server/verify-access-token.ts';

const ISSUER = 'https://id.example.test';
const AUDIENCE = 'urn:tokenim:api';

interface TestKey { kid: string; privateKey: CryptoKey; jwk: JWK }

async function makeKey(kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

const tokenSignedBy = (key: TestKey) => new SignJWT({ client_id: 'bot', scope: 'message:send' })
  .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: key.kid })
  .setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('bot').setIssuedAt().setExpirationTime('1h')
  .sign(key.privateKey);

// A JWKS endpoint that counts its fetches and publishes what the test says.
let published: JWK[] = [];
let fetches = 0;
let jwksServer: Server;
let jwksUri: string;
beforeAll(async () => {
  jwksServer = createServer((_req, res) => {
    fetches += 1;
    res.setHeader('content-type', 'application/jwk-set+json');
    res.end(JSON.stringify({ keys: published }));
  }).listen(0, '127.0.0.1');
  await once(jwksServer, 'listening');
  jwksUri = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/jwks`;
});
afterAll(() => new Promise<void>((resolve) => jwksServer.close(() => resolve())));

// The cooldown is measured with Date.now(): the test moves it instead of waiting.
let clock = Date.now();
const advance = (ms: number) => { clock += ms; };
afterEach(() => { jest.restoreAllMocks(); });

describe('resource server: JWKS refetch on an unknown kid', () => {
  it('refetches at most once per 5 s (JWKS_REFETCH_COOLDOWN_MS), and finds a new key that soon', async () => {
    expect(JWKS_REFETCH_COOLDOWN_MS).toBe(5_000);
    jest.spyOn(Date, 'now').mockImplementation(() => clock);
    const [current, next, unknown] = await Promise.all([makeKey('current'), makeKey('next'), makeKey('never-published')]);
    published = [current.jwk];
    fetches = 0;
    const verify = createTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri });

    await expect(verify(await tokenSignedBy(current))).resolves.toMatchObject({ claims: { client_id: 'bot' } });
    expect(fetches).toBe(1);

    // The issuer publishes its next key; tokens with made-up kids arrive in a burst within the cooldown.
    published = [current.jwk, next.jwk];
    const forged = await tokenSignedBy(unknown);
    for (let i = 0; i < 20; i += 1) {
      advance(100);
      await expect(verify(forged)).rejects.toMatchObject({ reason: 'signature' });
    }
    expect(fetches).toBe(1);

    // Past the cooldown a token signed with the new key is accepted after one refetch.
    advance(5_000);
    await expect(verify(await tokenSignedBy(next))).resolves.toMatchObject({ claims: { client_id: 'bot' } });
    expect(fetches).toBe(2);

    // And unknown kids again cost at most one fetch per cooldown.
    for (let i = 0; i < 20; i += 1) {
      advance(100);
      await expect(verify(forged)).rejects.toMatchObject({ reason: 'signature' });
    }
    expect(fetches).toBe(2);
    advance(5_000);
    await expect(verify(forged)).rejects.toMatchObject({ reason: 'signature' });
    expect(fetches).toBe(3);
    // Known keys never cost a fetch.
    await expect(verify(await tokenSignedBy(current))).resolves.toBeDefined();
    expect(fetches).toBe(3);
  });
});
