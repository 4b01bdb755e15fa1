// UserInfo (OIDC Core §5.3) with the API access token an app gets when it asks for OIDC scopes and
// API permissions at once (an RFC 9068 JWT for the TokenIM API): accepted at /me, and only there,
// while its grant lives, as Auth0 accepts its API tokens at /userinfo. Driven by openid-client
// used unchanged, the way an RP library calls UserInfo after the code exchange.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import * as client from 'openid-client';
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from 'jose';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { CookieJar, csrfFrom, request, signInAndConsent } from '../helpers/browserless-login.ts';

const PASSWORD = 'userinfo with the api token';
const REDIRECT_URI = 'http://localhost/callback';
const API_AUDIENCE = 'urn:tokenim:api';
const actor = { kind: 'system', id: 'test' } as const;

interface App { clientId: string; secret: string }
interface Person { email: string; sub: string }

/** A server with a person, a web app (CLI defaults), a service and a resource server. */
async function setUp(options: Parameters<typeof startTestServer>[0] = {}) {
  const server = await startTestServer(options);
  const { applicationDeps, accountDeps } = server.services;
  const person = async (name?: string): Promise<Person> => {
    const email = `${(name ?? 'nameless').toLowerCase()}.${randomUUID()}@example.test`;
    const account = await createAccount(accountDeps, { email, password: PASSWORD, emailVerified: true, ...(name ? { name } : {}) }, actor);
    return { email, sub: account.id };
  };
  const app = async (input: Parameters<typeof createApplication>[1]): Promise<App> => {
    const created = await createApplication(applicationDeps, input, actor);
    return { clientId: created.application.clientId, secret: created.secret!.clientSecret };
  };
  return {
    server,
    person,
    web: await app({ name: 'Chat Web', type: 'web', redirectUris: [REDIRECT_URI] }),
    service: await app({ name: 'Bot', type: 'service', scope: 'message:send' }),
    resourceServer: await app({ name: 'IM API', type: 'service', scope: 'message:read', isResourceServer: true }),
  };
}

const discover = (server: TestServer, app: App) => client.discovery(new URL(server.issuer), app.clientId, undefined,
  client.ClientSecretBasic(app.secret), { execute: [client.allowInsecureRequests] });

/** Authorization code + PKCE through the sign-in and consent pages, then the code exchange (DPoP-bound when `dpop` is given). */
async function signIn(server: TestServer, app: App, person: Person, scope: string, options: { jar?: CookieJar; dpop?: client.DPoPHandle } = {}) {
  const config = await discover(server, app);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT_URI, scope, state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
  const callback = await signInAndConsent(server.issuer, url.href, { email: person.email, password: PASSWORD }, 'allow', options.jar);
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state },
    undefined, options.dpop ? { DPoP: options.dpop } : {});
  return { config, tokens };
}

/** GET /me as it is answered: status, the challenge and the JSON body. */
async function userinfo(server: TestServer, authorization: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.issuer}/me`, { headers: { authorization, ...headers } });
  return { status: response.status, challenge: response.headers.get('www-authenticate'), body: await response.json() as Record<string, unknown> };
}

describe('UserInfo with the TokenIM API access token (OIDC Core §5.3, RFC 9068; as Auth0)', () => {
  let setup: Awaited<ReturnType<typeof setUp>>;
  let server: TestServer;
  beforeAll(async () => {
    setup = await setUp();
    server = setup.server;
  });
  afterAll(async () => { await server?.close(); });

  it('answers the consented claims; after "Remove access" on /account the same token → 401 invalid_token', async () => {
    const mei = await setup.person('Mei');
    const jar = new CookieJar();
    const { config, tokens } = await signIn(server, setup.web, mei, 'openid email message:send', { jar });
    expect(decodeJwt(tokens.access_token)).toMatchObject({ aud: API_AUDIENCE, scope: 'message:send' });
    // `email` was consented, `profile` was not: UserInfo answers what the person allowed, no name.
    expect(await client.fetchUserInfo(config, tokens.access_token, mei.sub)).toEqual({ sub: mei.sub, email: mei.email, email_verified: true });

    const page = await (await request(jar, `${server.issuer}/account`)).text();
    const action = /action="(\/account\/apps\/[^"]+\/revoke)"/.exec(page.split(`data-connected-app="${setup.web.clientId}"`)[1] ?? '')![1]!;
    expect((await request(jar, `${server.issuer}${action}`, { form: { _csrf: csrfFrom(page) } })).status).toBe(303);

    const refused = await userinfo(server, `Bearer ${tokens.access_token}`);
    expect(refused).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
    expect(refused.challenge).toMatch(/^Bearer realm="[^"]+", error="invalid_token"/);
  });

  it('a client-credentials token (no person, no grant) → 401 invalid_token', async () => {
    const config = await discover(server, setup.service);
    const { access_token: token } = await client.clientCredentialsGrant(config, { scope: 'message:send' });
    expect(decodeJwt(token)).toMatchObject({ aud: API_AUDIENCE, sub: setup.service.clientId });
    expect(await userinfo(server, `Bearer ${token}`)).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
  });

  it('a token that is not ours (same claims and kid, signed by another key) → 401 invalid_token', async () => {
    const mei = await setup.person('Mei');
    const { tokens } = await signIn(server, setup.web, mei, 'openid email message:send');
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT(decodeJwt(tokens.access_token))
      .setProtectedHeader({ ...decodeProtectedHeader(tokens.access_token), alg: 'ES256', typ: 'at+jwt' }).sign(privateKey);
    expect(await userinfo(server, `Bearer ${forged}`)).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
    expect((await userinfo(server, `Bearer ${tokens.access_token}`)).status).toBe(200);
  });

  it('a DPoP-bound person\'s token needs its proof (RFC 9449 §7.1): with it the claims, as Bearer or with another key → 401', async () => {
    const mei = await setup.person('Mei');
    const config = await discover(server, setup.web);
    const key = await client.randomDPoPKeyPair('ES256');
    const { tokens } = await signIn(server, setup.web, mei, 'openid email message:send', { dpop: client.getDPoPHandle(config, key) });
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt: expect.any(String) });

    expect(await client.fetchUserInfo(config, tokens.access_token, mei.sub, { DPoP: client.getDPoPHandle(config, key) }))
      .toEqual({ sub: mei.sub, email: mei.email, email_verified: true });
    expect(await userinfo(server, `Bearer ${tokens.access_token}`)).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
    const otherKey = await client.randomDPoPKeyPair('ES256');
    await expect(client.fetchUserInfo(config, tokens.access_token, mei.sub, { DPoP: client.getDPoPHandle(config, otherKey) }))
      .rejects.toMatchObject({ status: 401 });
  });

  it('introspection keeps refusing the JWT as before (unsupported_token_type): only UserInfo takes it', async () => {
    const mei = await setup.person('Mei');
    const { config, tokens } = await signIn(server, setup.web, mei, 'openid email message:send');
    expect((await client.fetchUserInfo(config, tokens.access_token, mei.sub)).email).toBe(mei.email);
    const { clientId, secret } = setup.resourceServer;
    const response = await fetch(`${server.issuer}/token/introspection`, { method: 'POST', body: new URLSearchParams({ token: tokens.access_token }),
      headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` } });
    // oidc-provider's answer for any JWT there (lib/shared/reject_structured_tokens.js): resource servers verify JWTs themselves.
    expect({ status: response.status, body: await response.json() }).toEqual({ status: 400, body: { error: 'unsupported_token_type',
      error_description: 'Structured JWT Tokens cannot be introspected via the introspection_endpoint' } });
  });

  it('an account created without a name: no empty name in UserInfo or the ID token (OIDC Core §5.3.2)', async () => {
    const nameless = await setup.person();
    const { config, tokens } = await signIn(server, setup.web, nameless, 'openid profile email message:send');
    expect(tokens.claims()).not.toHaveProperty('name');
    expect(await client.fetchUserInfo(config, tokens.access_token, nameless.sub))
      .toEqual({ sub: nameless.sub, email: nameless.email, email_verified: true });
  });
});

describe('through a signing-key rotation', () => {
  let setup: Awaited<ReturnType<typeof setUp>>;
  const env = { KEY_PUBLISH_DELAY_SECONDS: '0', KEYRING_POLL_SECONDS: '0.2' };
  beforeAll(async () => { setup = await setUp({ env }); });
  afterAll(async () => { await setup?.server.close(); });

  it('a token signed by the retired key and one signed by the new key both work at UserInfo', async () => {
    const { server } = setup;
    const mei = await setup.person('Mei');
    const before = await signIn(server, setup.web, mei, 'openid email message:send');
    const oldKid = decodeProtectedHeader(before.tokens.access_token).kid;

    const signingKid = async () => ((await (await fetch(`${server.issuer}/jwks`)).json()) as { keys: { kid: string; alg: string }[] })
      .keys.find((key) => key.alg === 'ES256')!.kid;
    expect(await signingKid()).toBe(oldKid);
    // A new key pair that signs at once (no publish delay); the old one stays published, retired.
    await server.services.keyrings.rotateSigningKeys({ publishDelaySeconds: 0, retentionSeconds: 3600 });
    for (let tries = 0; (await signingKid()) === oldKid && tries < 50; tries += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    const after = await signIn(server, setup.web, mei, 'openid email message:send');
    expect(decodeProtectedHeader(after.tokens.access_token).kid).not.toBe(oldKid);
    expect(((await (await fetch(`${server.issuer}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid)).toContain(oldKid);

    for (const { config, tokens } of [before, after]) {
      expect(await client.fetchUserInfo(config, tokens.access_token, mei.sub)).toEqual({ sub: mei.sub, email: mei.email, email_verified: true });
    }
  });
});
