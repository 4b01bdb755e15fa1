// RFC 9449 end to end: the server issues DPoP-bound tokens (cnf.jkt) and the example TokenIM API
// accepts them only with the DPoP scheme and a valid proof for that request (§4.3, §7.1), never as
// bearer tokens (§7.2); replayed proofs are refused, across instances in Redis mode (§11.1).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'node:http';
import { createHash, randomUUID, type webcrypto } from 'node:crypto';
import * as client from 'openid-client';
import { SignJWT, decodeJwt, exportJWK, calculateJwkThumbprint, generateKeyPair, type JWK, type JWTPayload } from 'jose';
import { createApplication } from '../../src/applications/create-application.ts';
import { createAccount } from '../../src/accounts/create-account.ts';
import { signInAndConsent } from '../helpers/browserless-login.ts';
import { createDpopProofVerifier } from '../../src/resource-server/verify-dpop-proof.ts';
import { createRedisReplayCache } from '../../src/resource-server/dpop-replay-cache.ts';
import { openRedis } from '../../src/storage/redis/open-redis.ts';
import { startTestRedis } from '../helpers/redis-server.ts';
import { freePort } from '../helpers/free-port.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { startExampleApi, type ExampleApi } from '../helpers/example-api.ts';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const testRedis = await startTestRedis();
const actor = { kind: 'system', id: 'test' } as const;
const ALGS = 'algs="ES256 Ed25519 EdDSA"';

let server: TestServer;
let api: ExampleApi;
let apiUrl: string;
let config: client.Configuration;


beforeAll(async () => {
  server = await startTestServer();
  const { application, secret } = await createApplication(server.services.applicationDeps,
    { name: 'Bot', type: 'service', scope: 'message:send' }, actor);
  config = await client.discovery(new URL(server.issuer), application.clientId, undefined,
    client.ClientSecretBasic(secret!.clientSecret), { execute: [client.allowInsecureRequests] });
  api = await startExampleApi(server);
  apiUrl = api.url;
});

afterAll(async () => {
  await api?.close();
  await server?.close();
  await testRedis?.stop();
});

interface Holder {
  keyPair: CryptoKeyPair;
  jwk: JWK;
  token: string;
}

/** A client with its own DPoP key and a token bound to it, from the server's /token (openid-client). */
async function boundToken(): Promise<Holder> {
  const keyPair = await client.randomDPoPKeyPair('ES256');
  const response = await client.clientCredentialsGrant(config, { scope: 'message:send' }, { DPoP: client.getDPoPHandle(config, keyPair) });
  expect(response.token_type.toLowerCase()).toBe('dpop');
  return { keyPair, jwk: await exportJWK(keyPair.publicKey), token: response.access_token };
}

const ath = (token: string) => createHash('sha256').update(token).digest('base64url');

/** A proof as RFC 9449 §4.2 describes it, with any part overridden to break it. */
async function proof(holder: Holder, overrides: {
  claims?: JWTPayload; header?: Record<string, unknown>; key?: CryptoKey; url?: string; method?: string;
} = {}): Promise<string> {
  const claims = { jti: randomUUID(), htm: overrides.method ?? 'POST', htu: overrides.url ?? `${apiUrl}/v1/messages`,
    iat: Math.floor(Date.now() / 1000), ath: ath(holder.token), ...overrides.claims };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete (claims as Record<string, unknown>)[name];
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: holder.jwk, ...overrides.header })
    .sign(overrides.key ?? holder.keyPair.privateKey);
}

function send(authorization: string | undefined, dpop?: string | string[], options: { url?: string; method?: string; language?: string } = {}) {
  const headers = new Headers({ 'content-type': 'application/json' });
  if (authorization) headers.set('authorization', authorization);
  for (const value of [dpop ?? []].flat()) headers.append('dpop', value);
  if (options.language) headers.set('accept-language', options.language);
  const method = options.method ?? 'POST';
  return fetch(options.url ?? `${apiUrl}/v1/messages`, { method, headers, ...(method === 'POST' ? { body: '{"text":"hi"}' } : {}) });
}

async function refusal(response: Response) {
  return { status: response.status, challenge: response.headers.get('www-authenticate'), body: await response.json() as Record<string, string> };
}

describe('DPoP-bound tokens at the example TokenIM API (RFC 9449)', () => {
  it('the server binds the token to the key: cnf.jkt is the RFC 7638 thumbprint', async () => {
    const holder = await boundToken();
    expect(decodeJwt(holder.token).cnf).toEqual({ jkt: await calculateJwkThumbprint(holder.jwk, 'sha256') });
  });

  it('a bound token with a valid proof (made by openid-client) → 201', async () => {
    const holder = await boundToken();
    const response = await client.fetchProtectedResource(config, holder.token, new URL(`${apiUrl}/v1/messages`), 'POST',
      '{"text":"hi"}', new Headers({ 'content-type': 'application/json' }), { DPoP: client.getDPoPHandle(config, holder.keyPair) });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ text: 'hi' });
  });

  it('the same token as a Bearer token → 401 with a DPoP challenge (§7.2)', async () => {
    const holder = await boundToken();
    const answer = await refusal(await send(`Bearer ${holder.token}`));
    expect(answer.status).toBe(401);
    expect(answer.challenge).toMatch(/^DPoP realm="TokenIM", error="invalid_token", error_description="this token is bound to a DPoP key/);
    expect(answer.challenge).toContain(ALGS);
    expect(answer.body.error).toBe('invalid_token');
    // Also with a proof next to it: the scheme decides, the binding is not bypassed.
    expect((await send(`Bearer ${holder.token}`, await proof(holder))).status).toBe(401);
  });

  it('the scheme is case-insensitive (RFC 9110 §11.1)', async () => {
    const holder = await boundToken();
    for (const scheme of ['DPoP', 'dpop', 'DPOP']) expect((await send(`${scheme} ${holder.token}`, await proof(holder))).status).toBe(201);
  });

  it('a replayed proof → 401 invalid_dpop_proof', async () => {
    const holder = await boundToken();
    const once = await proof(holder);
    expect((await send(`DPoP ${holder.token}`, once)).status).toBe(201);
    const answer = await refusal(await send(`DPoP ${holder.token}`, once));
    expect(answer.status).toBe(401);
    expect(answer.challenge).toMatch(/^DPoP realm="TokenIM", error="invalid_dpop_proof", error_description="this DPoP proof was already used/);
    expect(answer.challenge).toContain(ALGS);
  });

  it('compares htu without query and fragment (§4.3 points 9, 10), and refuses another URL', async () => {
    const holder = await boundToken();
    const withQuery = await proof(holder, { url: `${apiUrl}/v1/messages?draft=1#top` });
    expect((await send(`DPoP ${holder.token}`, withQuery, { url: `${apiUrl}/v1/messages?draft=2` })).status).toBe(201);
    const elsewhere = await refusal(await send(`DPoP ${holder.token}`, await proof(holder, { url: `${apiUrl}/v1/calls` })));
    expect(elsewhere).toMatchObject({ status: 401, body: { error: 'invalid_dpop_proof', error_description: 'the DPoP proof is for another URL (htu)' } });
    const otherHost = await proof(holder, { url: `http://api.example.test/v1/messages` });
    expect((await send(`DPoP ${holder.token}`, otherHost)).status).toBe(401);
  });

  it.each([
    ['another method (htm)', { method: 'GET' }, 'invalid_dpop_proof', 'another HTTP method'],
    ['a stale iat', { claims: { iat: Math.floor(Date.now() / 1000) - 300 } }, 'invalid_dpop_proof', 'too old or from the future'],
    ['an iat in the future', { claims: { iat: Math.floor(Date.now() / 1000) + 300 } }, 'invalid_dpop_proof', 'too old or from the future'],
    ['no ath', { claims: { ath: undefined } }, 'invalid_dpop_proof', 'must carry ath'],
    ['the ath of another token', { claims: { ath: ath('another token') } }, 'invalid_dpop_proof', 'must carry ath'],
    ['no jti', { claims: { jti: undefined } }, 'invalid_dpop_proof', 'needs jti, htm, htu and iat'],
    ['typ JWT', { header: { typ: 'JWT' } }, 'invalid_dpop_proof', 'typ dpop+jwt'],
    ['no jwk header', { header: { jwk: undefined } }, 'invalid_dpop_proof', 'public key (jwk header)'],
  ] as const)('a proof with %s → 401', async (_what, overrides, error, description) => {
    const holder = await boundToken();
    const answer = await refusal(await send(`DPoP ${holder.token}`, await proof(holder, overrides)));
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ error });
    expect(answer.body.error_description).toContain(description);
    expect(answer.challenge).toMatch(new RegExp(`^DPoP realm="TokenIM", error="${error}"`));
  });

  it('a proof made with another key → 401 invalid_token (the key binding, §7.1)', async () => {
    const holder = await boundToken();
    const other = await client.randomDPoPKeyPair('ES256');
    const answer = await refusal(await send(`DPoP ${holder.token}`,
      await proof(holder, { key: other.privateKey, header: { jwk: await exportJWK(other.publicKey) } })));
    expect(answer).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
    expect(answer.challenge).toMatch(/^DPoP realm="TokenIM", error="invalid_token", error_description="the DPoP proof is signed with another key/);
  });

  it('refuses a jwk with its private part, a symmetric alg, an alg the server does not list, another signer, and garbage', async () => {
    const holder = await boundToken();
    const claims = () => ({ jti: randomUUID(), htm: 'POST', htu: `${apiUrl}/v1/messages`, iat: Math.floor(Date.now() / 1000),
      ath: ath(holder.token) });
    const exposed = await generateKeyPair('ES256', { extractable: true });
    const rsa = await generateKeyPair('RS256');
    const cases: [string, string, string][] = [
      ['a jwk with its private part (the key that signed)', await new SignJWT(claims())
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(exposed.privateKey) }).sign(exposed.privateKey),
      'public key (jwk header) that signed it, without private parts'],
      ['HS256', await new SignJWT(claims())
        .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct' } }).sign(new TextEncoder().encode('secret')),
      'must be signed with ES256, Ed25519, EdDSA'],
      ['RS256', await proof(holder, { key: rsa.privateKey as CryptoKey, header: { alg: 'RS256', jwk: await exportJWK(rsa.publicKey) } }),
        'must be signed with ES256, Ed25519, EdDSA'],
      ['signed by a key other than its jwk', await proof(holder, { key: (await client.randomDPoPKeyPair('ES256')).privateKey }),
        'signature is not valid'],
      ['not a JWT', 'not-a-proof', 'not a well-formed JWT'],
    ];
    for (const [what, bad, description] of cases) {
      const answer = await refusal(await send(`DPoP ${holder.token}`, bad));
      expect([what, answer.status, answer.body.error]).toEqual([what, 401, 'invalid_dpop_proof']);
      expect([what, answer.body.error_description]).toEqual([what, expect.stringContaining(description)]);
    }
  });

  it('needs exactly one DPoP header (§4.3 point 1)', async () => {
    const holder = await boundToken();
    expect((await refusal(await send(`DPoP ${holder.token}`))).body.error).toBe('invalid_dpop_proof');
    // Two header lines (fetch would join appended values into one line, a malformed JWT instead).
    const [first, second] = [await proof(holder), await proof(holder)];
    const two = await new Promise<{ status: number; body: Record<string, string> }>((resolve, reject) => {
      // node:http sends an array value as one header line per value.
      const req = request(`${apiUrl}/v1/messages`, { method: 'POST', headers: {
        authorization: `DPoP ${holder.token}`, dpop: [first, second], 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (chunk) => { text += chunk; }).on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end('{"text":"hi"}');
    });
    expect(two).toMatchObject({ status: 401, body: { error: 'invalid_dpop_proof',
      error_description: expect.stringContaining('exactly one DPoP header') } });
  });

  it('an unbound token sent with the DPoP scheme → 401 invalid_token; as Bearer it works, with Bearer challenges', async () => {
    const { access_token: unbound } = await client.clientCredentialsGrant(config, { scope: 'message:send' });
    expect(decodeJwt(unbound).cnf).toBeUndefined();
    const holder = { ...(await boundToken()), token: unbound };
    const answer = await refusal(await send(`DPoP ${unbound}`, await proof(holder)));
    expect(answer).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
    expect(answer.challenge).toMatch(/^DPoP realm="TokenIM", error="invalid_token"/);
    expect((await send(`Bearer ${unbound}`)).status).toBe(201);
    expect((await send(`bearer ${unbound}`)).status).toBe(201);
    const missingScope = await refusal(await send(`Bearer ${unbound}`, undefined, { url: `${apiUrl}/v1/calls`, method: 'GET' }));
    expect(missingScope.status).toBe(403);
    expect(missingScope.challenge).toMatch(/^Bearer realm="TokenIM", error="insufficient_scope", scope="calls:read"/);
    expect((await refusal(await send('Bearer not.a.jwt'))).challenge).toMatch(/^Bearer realm="TokenIM", error="invalid_token"/);
  });

  it('a DPoP request without the permission → 403 insufficient_scope in the DPoP scheme', async () => {
    const holder = await boundToken();
    const answer = await refusal(await send(`DPoP ${holder.token}`, await proof(holder, { method: 'GET', url: `${apiUrl}/v1/calls` }),
      { url: `${apiUrl}/v1/calls`, method: 'GET' }));
    expect(answer.status).toBe(403);
    expect(answer.challenge).toMatch(/^DPoP realm="TokenIM", error="insufficient_scope", scope="calls:read"/);
  });

  it('no token → 401 with a challenge for each scheme, the DPoP one naming the algorithms (§7.1)', async () => {
    const response = await send(undefined);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(`Bearer realm="TokenIM", DPoP realm="TokenIM", ${ALGS}`);
  });
});

describe('a person\'s token (authorization code, RFC 9449 §5) at the example TokenIM API', () => {
  it('bound at the code exchange (made by openid-client): with its proof → 201, as Bearer → 401, with another key\'s proof → 401', async () => {
    const password = 'dpop for people too';
    const email = `dpop.${randomUUID()}@example.test`;
    await createAccount(server.services.accountDeps, { email, password, emailVerified: true }, actor);
    const redirectUri = 'http://localhost/callback';
    const app = await createApplication(server.services.applicationDeps, { name: 'Chat Web', type: 'web', redirectUris: [redirectUri] }, actor);
    const web = await client.discovery(new URL(server.issuer), app.application.clientId, undefined,
      client.ClientSecretBasic(app.secret!.clientSecret), { execute: [client.allowInsecureRequests] });
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(web, { redirect_uri: redirectUri, scope: 'openid message:send', state: 'st',
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const callback = await signInAndConsent(server.issuer, url.href, { email, password });
    const keyPair = await client.randomDPoPKeyPair('ES256');
    const tokens = await client.authorizationCodeGrant(web, new URL(callback), { pkceCodeVerifier: verifier, expectedState: 'st' },
      undefined, { DPoP: client.getDPoPHandle(web, keyPair) });
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    const holder: Holder = { keyPair, jwk: await exportJWK(keyPair.publicKey), token: tokens.access_token };
    expect(decodeJwt(holder.token)).toMatchObject({ sub: expect.any(String), grant_id: expect.any(String),
      cnf: { jkt: await calculateJwkThumbprint(holder.jwk, 'sha256') } });

    const response = await client.fetchProtectedResource(web, holder.token, new URL(`${apiUrl}/v1/messages`), 'POST',
      '{"text":"hi"}', new Headers({ 'content-type': 'application/json' }), { DPoP: client.getDPoPHandle(web, keyPair) });
    expect(response.status).toBe(201);
    const asBearer = await refusal(await send(`Bearer ${holder.token}`));
    expect(asBearer).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
    expect(asBearer.challenge).toMatch(/^DPoP realm="TokenIM", error="invalid_token", error_description="this token is bound to a DPoP key/);
    const other = await client.randomDPoPKeyPair('ES256');
    expect((await send(`DPoP ${holder.token}`, await proof(holder, { key: other.privateKey,
      header: { jwk: await exportJWK(other.publicKey) } }))).status).toBe(401);
  });
});

describe('error descriptions in the caller\'s language (Accept-Language)', () => {
  it('401 and 403 speak Simplified Chinese in the body and keep the RFC error codes; the header stays ASCII English', async () => {
    const holder = await boundToken();
    const asBearer = await refusal(await send(`Bearer ${holder.token}`, undefined, { language: 'zh-CN,zh;q=0.9,en;q=0.5' }));
    expect(asBearer.body).toEqual({ error: 'invalid_token',
      error_description: '此令牌已绑定 DPoP 密钥：请以 Authorization: DPoP <令牌> 发送，并附上 DPoP 证明' });
    expect(asBearer.challenge).toContain('error_description="this token is bound to a DPoP key');

    const garbage = await refusal(await send('Bearer not.a.jwt', undefined, { language: 'zh' }));
    expect(garbage.body).toEqual({ error: 'invalid_token', error_description: '令牌格式错误，或不是访问令牌' });

    const { access_token: unbound } = await client.clientCredentialsGrant(config, { scope: 'message:send' });
    const forbidden = await refusal(await send(`Bearer ${unbound}`, undefined, { url: `${apiUrl}/v1/calls`, method: 'GET', language: 'zh-CN' }));
    expect(forbidden.body).toEqual({ error: 'insufficient_scope', scope: 'calls:read',
      error_description: '此操作需要权限 calls:read；此应用未获准使用该权限；管理员可以为应用添加它' });
    expect(forbidden.challenge).toContain('error_description="this needs the permission calls:read; this application is not allowed it');

    const english = await refusal(await send(`Bearer ${unbound}`, undefined, { url: `${apiUrl}/v1/calls`, method: 'GET', language: 'en-GB' }));
    expect(english.body.error_description).toBe('this needs the permission calls:read; this application is not allowed it; '
      + 'an administrator can add it to the application');
    const missing = await refusal(await send(undefined, undefined, { language: 'zh-CN' }));
    expect(missing.body.error_description).toContain('请发送访问令牌');
  });
});

describe('behind a reverse proxy (TRUST_PROXY)', () => {
  it('the proof names the public URL, which the API reads from X-Forwarded-Proto/Host only when it trusts the proxy', async () => {
    const trusting = await startExampleApi(server, { settings: { trustProxy: true } });
    try {
      const holder = await boundToken();
      const withProof = async (url: string) => (await fetch(`${url}/v1/messages`, { method: 'POST', body: '{"text":"hi"}', headers: {
        'content-type': 'application/json', authorization: `DPoP ${holder.token}`, 'x-forwarded-proto': 'https',
        'x-forwarded-host': 'api.example.test', dpop: await proof(holder, { url: 'https://api.example.test/v1/messages' }) } })).status;
      expect(await withProof(trusting.url)).toBe(201);
      expect(await withProof(apiUrl)).toBe(401); // the default API does not trust X-Forwarded-*
    } finally {
      await trusting.close();
    }
  });
});

describe('the replay cache does not answer (Redis down)', () => {
  it('503 with Retry-After: the proof is neither accepted unchecked nor called invalid', async () => {
    const { redis, connection } = openRedis(`redis://127.0.0.1:${await freePort()}`);
    const dpop = createDpopProofVerifier({ replay: createRedisReplayCache(redis, 'down:') });
    const down = await startExampleApi(server, { settings: { dpop } });
    try {
      const holder = await boundToken();
      const response = await send(`DPoP ${holder.token}`, await proof(holder, { url: `${down.url}/v1/messages` }), { url: `${down.url}/v1/messages` });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('1');
      expect(await response.text()).toBe('the API cannot check DPoP proofs right now; try again in a moment');
    } finally {
      await down.close();
      await connection.close();
    }
  });
});

(testRedis ? describe : describe.skip)(`Redis mode: two API instances share the replay cache (§11.1)${testRedis ? '' : ' — not run: no redis-server'}`, () => {
  it('a proof used at one instance is refused at the other', async () => {
    const { redis, connection } = openRedis(testRedis!.url);
    const instances = await Promise.all([0, 1].map(() => startExampleApi(server,
      { settings: { dpop: createDpopProofVerifier({ replay: createRedisReplayCache(redis, `${testRedis!.prefix}im-api:dpop:`) }) } })));
    try {
      // Both behind one public address, as behind a load balancer: the proof names that one.
      const publicUrl = 'http://api.example.test/v1/messages';
      const holder = await boundToken();
      const shared = await proof(holder, { url: publicUrl });
      const post = (url: string) => new Promise<number>((resolve, reject) => {
        const req = request(`${url}/v1/messages`, { method: 'POST', headers: {
          host: 'api.example.test', authorization: `DPoP ${holder.token}`, dpop: shared, 'content-type': 'application/json',
        } }, (res) => { res.resume(); resolve(res.statusCode!); });
        req.on('error', reject);
        req.end('{"text":"hi"}');
      });
      expect(await post(instances[0]!.url)).toBe(201);
      expect(await post(instances[1]!.url)).toBe(401);
    } finally {
      await Promise.all(instances.map((i) => i.close()));
      await connection.close();
    }
  });
});
