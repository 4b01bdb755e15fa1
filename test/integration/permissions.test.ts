// Least-privilege tokens at a real resource server (the example TokenIM API), and instant
// revocation: in embedded mode the API polls GET /revocations, in Redis mode it subscribes.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import * as client from 'openid-client';
import { SignJWT, importJWK, decodeJwt, type JWK } from 'jose';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { revokeApplication } from '../../src/applications/revoke-application.ts';
import { createRevocationListener, type RevocationListener } from '../../src/resource-server/revocation-listener.ts';
import { startTestRedis } from '../helpers/redis-server.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { signInAndConsent } from '../helpers/browserless-login.ts';
import { cli } from '../helpers/spawn-server.ts';
import { startExampleApi, type ExampleApi } from '../helpers/example-api.ts';

const testRedis = await startTestRedis();
afterAll(() => testRedis?.stop());
const modes: [string, boolean][] = [['embedded mode (polling)', false]];
if (testRedis) modes.push(['Redis mode (pub/sub)', true]);

const REDIRECT_URI = 'http://localhost/callback';
const PASSWORD = 'least privilege please';
const actor = { kind: 'system', id: 'test' } as const;

describe.each(modes)('permissions, %s', (_mode, isRedis) => {
  let server: TestServer;
  let api: ExampleApi;
  let apiUrl: string;
  let listener: RevocationListener;
  let web: { clientId: string; secret: string };
  let email: string;

  beforeAll(async () => {
    const prefix = `${testRedis?.prefix ?? ''}perm:`;
    server = await startTestServer(isRedis ? { redisUrl: testRedis!.url, redisKeyPrefix: prefix } : {});
    const { applicationDeps, accountDeps } = server.services;
    const app = await createApplication(applicationDeps, { name: 'Chat', type: 'web', redirectUris: [REDIRECT_URI] }, actor);
    web = { clientId: app.application.clientId, secret: app.secret!.clientSecret };
    const rs = await createApplication(applicationDeps, { name: 'IM API', type: 'service', scope: 'message:read', isResourceServer: true }, actor);
    email = `member.${isRedis ? 'r' : 'e'}@example.test`;
    await createAccount(accountDeps, { email, password: PASSWORD, emailVerified: true }, actor);

    listener = createRevocationListener(isRedis
      ? { redis: { url: testRedis!.url, channel: `${prefix}revocations` } }
      : { poll: { url: `${server.issuer}/revocations`, clientId: rs.application.clientId, clientSecret: rs.secret!.clientSecret } });
    await listener.ready;
    api = await startExampleApi(server, { revocations: listener });
    apiUrl = api.url;
  });

  afterAll(async () => {
    await listener?.close();
    await api?.close();
    await server?.close();
  });

  const callApi = (method: 'GET' | 'POST', path: string, token: string) => fetch(`${apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
    ...(method === 'POST' ? { body: JSON.stringify({ text: 'hello' }) } : {}),
  });

  async function authorize(scope: string) {
    const config = await client.discovery(new URL(server.issuer), web.clientId, undefined, client.ClientSecretBasic(web.secret),
      { execute: [client.allowInsecureRequests] });
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI, scope, prompt: 'consent', code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const callback = await signInAndConsent(server.issuer, url.href, { email, password: PASSWORD });
    return { config, tokens: await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, idTokenExpected: true }) };
  }

  it('a member asking for message:send calls:read gets only message:send; the API answers 201 and 403 insufficient_scope', async () => {
    const { tokens } = await authorize('openid offline_access message:send calls:read');
    expect(tokens.scope?.split(' ')).toContain('message:send');
    expect(tokens.scope?.split(' ')).not.toContain('calls:read');
    expect(decodeJwt(tokens.access_token)).toMatchObject({ scope: 'message:send', roles: ['member'], client_id: web.clientId });
    expect((await callApi('POST', '/v1/messages', tokens.access_token)).status).toBe(201);
    const calls = await callApi('GET', '/v1/calls', tokens.access_token);
    expect(calls.status).toBe(403);
    expect(calls.headers.get('www-authenticate')).toMatch(/^Bearer realm="TokenIM", error="insufficient_scope", scope="calls:read"/);
    expect((await calls.json() as { error_description: string }).error_description).toContain('the role Support agent or Auditor or Administrator grants it');
  });

  it('after `users set-roles --role support` a new authorization gets calls:read; after removing it a refresh loses it', async () => {
    await cli({ DATA_DIR: server.dataDir }, 'users', 'set-roles', '--email', email, '--role', 'member', '--role', 'support');
    const { config, tokens } = await authorize('openid offline_access message:send calls:read');
    expect(tokens.scope?.split(' ')).toEqual(expect.arrayContaining(['message:send', 'calls:read']));
    expect((await callApi('GET', '/v1/calls', tokens.access_token)).status).toBe(200);

    await cli({ DATA_DIR: server.dataDir }, 'users', 'set-roles', '--email', email, '--role', 'member');
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(decodeJwt(refreshed.access_token).scope).toBe('message:send');
    expect((await callApi('GET', '/v1/calls', refreshed.access_token)).status).toBe(403);
  });

  it('refuses tampered and foreign tokens with 401 invalid_token', async () => {
    const { tokens } = await authorize('openid message:send');
    const [header, payload, signature] = tokens.access_token.split('.') as [string, string, string];
    const claims = decodeJwt(tokens.access_token);
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const keyring = await server.services.keyrings.load();
    const signing = keyring.generations[0]!.keys.find((k) => k.alg === 'ES256')!;
    const serverKey = await importJWK(signing as JWK, 'ES256');
    const kid = signing.kid;
    const sign = (body: Record<string, unknown>, key: Parameters<SignJWT['sign']>[0] = serverKey) =>
      new SignJWT(body).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid }).sign(key);
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

    const forged: Record<string, string> = {
      'payload edited': `${header}.${b64({ ...claims, scope: 'message:send calls:read audit:read' })}.${signature}`,
      'alg none': `${b64({ alg: 'none', typ: 'at+jwt' })}.${payload}.`,
      'signed with another key': await sign(claims, otherKey),
      'another audience': await sign({ ...claims, aud: 'urn:some-other-api' }),
      expired: await sign({ ...claims, iat: Math.floor(Date.now() / 1000) - 3600, exp: Math.floor(Date.now() / 1000) - 60 }),
      'an ID token': tokens.id_token!,
      garbage: 'not.a.jwt',
    };
    expect((await callApi('POST', '/v1/messages', tokens.access_token)).status).toBe(201); // the genuine one works
    for (const [what, token] of Object.entries(forged)) {
      const response = await callApi('POST', '/v1/messages', token);
      expect([what, response.status]).toEqual([what, 401]);
      expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
    }
    const none = await fetch(`${apiUrl}/v1/messages`, { method: 'POST' });
    expect(none.status).toBe(401);
    // RFC 9449 §7.2: a challenge for each scheme the API accepts.
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="TokenIM", DPoP realm="TokenIM", algs="ES256 Ed25519 EdDSA"');
  });

  /** Milliseconds from `action` until the API refuses `token` (fails after 3 s). */
  async function timeUntilRefused(token: string, action: () => Promise<unknown>): Promise<number> {
    await action();
    const start = Date.now();
    while (Date.now() - start < 3000) {
      if ((await callApi('POST', '/v1/messages', token)).status === 401) return Date.now() - start;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('the API still accepts the token 3 s after the revocation');
  }

  it('revoking the grant (RFC 7009 revocation of its refresh token) makes the API refuse the unexpired JWT within 1 s', async () => {
    const { config, tokens } = await authorize('openid offline_access message:send');
    expect((await callApi('POST', '/v1/messages', tokens.access_token)).status).toBe(201);
    const elapsed = await timeUntilRefused(tokens.access_token, () => client.tokenRevocation(config, tokens.refresh_token!));
    expect(elapsed).toBeLessThan(1000);
    expect(decodeJwt(tokens.access_token).exp! * 1000).toBeGreaterThan(Date.now()); // still unexpired
  });

  it('revoking an application makes the API refuse its client-credentials tokens within 1 s', async () => {
    const { application, secret } = await createApplication(server.services.applicationDeps,
      { name: 'Bot', type: 'service', scope: 'message:send' }, actor);
    const config = await client.discovery(new URL(server.issuer), application.clientId, undefined,
      client.ClientSecretBasic(secret!.clientSecret), { execute: [client.allowInsecureRequests] });
    const { access_token: token } = await client.clientCredentialsGrant(config, { scope: 'message:send' });
    expect((await callApi('POST', '/v1/messages', token)).status).toBe(201);
    const calls = await callApi('GET', '/v1/calls', token);
    expect(calls.status).toBe(403);
    expect((await calls.json() as { error_description: string }).error_description).toContain('this application is not allowed it');
    const elapsed = await timeUntilRefused(token, () => revokeApplication(server.services.applicationDeps, application.clientId, actor));
    expect(elapsed).toBeLessThan(1000);
  });

  it('GET /revocations is only for resource-server applications', async () => {
    expect((await fetch(`${server.issuer}/revocations`)).status).toBe(401);
    const basic = `Basic ${Buffer.from(`${web.clientId}:${web.secret}`).toString('base64')}`;
    expect((await fetch(`${server.issuer}/revocations`, { headers: { authorization: basic } })).status).toBe(401);
  });
});

describe('scopes outside the catalog', () => {
  let server: TestServer;
  beforeAll(async () => { server = await startTestServer(); });
  afterAll(() => server.close());

  it('client_credentials with an unknown scope → 400 invalid_scope', async () => {
    const { application, secret } = await createApplication(server.services.applicationDeps,
      { name: 'Bot', type: 'service', scope: 'message:send' }, actor);
    const response = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${application.clientId}:${secret!.clientSecret}`).toString('base64')}` },
      body: 'grant_type=client_credentials&scope=message%3Asend+message%3Adelete',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_scope', error_description: '"message:delete" is not a TokenIM permission' });
  });

  it('an authorization request with an unknown scope → invalid_scope back to the app', async () => {
    const { application } = await createApplication(server.services.applicationDeps,
      { name: 'Web', type: 'web', redirectUris: [REDIRECT_URI] }, actor);
    const params = new URLSearchParams({ client_id: application.clientId, response_type: 'code', redirect_uri: REDIRECT_URI,
      scope: 'openid files:delete', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
    const response = await fetch(`${server.issuer}/auth?${params}`, { redirect: 'manual' });
    expect(response.status).toBe(303);
    expect(new URL(response.headers.get('location')!).searchParams.get('error')).toBe('invalid_scope');
  });
});
