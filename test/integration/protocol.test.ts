// Protocol conformance points found by outside testing with RP libraries: UserInfo for every app
// that signs people in, scopes the server does not offer, client_credentials defaults, and the
// RFC error codes for a grant type or a token that is not the client's. Driven by openid-client
// (a certified RP library) and raw HTTP where the exact error body is the point.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { decodeJwt } from 'jose';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { startExampleApi, type ExampleApi } from '../helpers/example-api.ts';
import { signInAndConsent, UNREDEEMED_CODE_CHALLENGE } from '../helpers/browserless-login.ts';

const PASSWORD = 'protocol conformance matters';
const REDIRECT_URI = 'http://localhost/callback';
const actor = { kind: 'system', id: 'test' } as const;

interface App { clientId: string; secret: string }

let server: TestServer;
let api: ExampleApi;
let apiUrl: string;
let email: string;
let sub: string;
/** A web app created with the defaults: every catalog scope, as `clients create --type web` makes it. */
let web: App;
/** A service allowed message:send and calls:read. */
let service: App;
let resourceServer: App;

beforeAll(async () => {
  server = await startTestServer();
  const { applicationDeps, accountDeps } = server.services;
  email = `lin.${Date.now()}@example.test`;
  const account = await createAccount(accountDeps, { email, password: PASSWORD, name: 'Lin', emailVerified: true }, actor);
  sub = account.id;
  const app = await createApplication(applicationDeps, { name: 'Chat Web', type: 'web', redirectUris: [REDIRECT_URI] }, actor);
  web = { clientId: app.application.clientId, secret: app.secret!.clientSecret };
  const svc = await createApplication(applicationDeps, { name: 'Bot', type: 'service', scope: 'message:send calls:read' }, actor);
  service = { clientId: svc.application.clientId, secret: svc.secret!.clientSecret };
  const rs = await createApplication(applicationDeps, { name: 'IM API', type: 'service', scope: 'message:read', isResourceServer: true }, actor);
  resourceServer = { clientId: rs.application.clientId, secret: rs.secret!.clientSecret };

  api = await startExampleApi(server);
  apiUrl = api.url;
});

afterAll(async () => {
  await api?.close();
  await server?.close();
});

const discover = (app: App) => client.discovery(new URL(server.issuer), app.clientId, undefined, client.ClientSecretBasic(app.secret),
  { execute: [client.allowInsecureRequests] });

/** Authorization code + PKCE through the login and consent pages, then the code exchange. */
async function authorize(scope: string, extra: Record<string, string> = {}) {
  const config = await discover(web);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI, scope, state, code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256', ...extra,
  });
  const callback = await signInAndConsent(server.issuer, url.href, { email, password: PASSWORD });
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state });
  return { config, tokens };
}

const basic = (app: App) => `Basic ${Buffer.from(`${app.clientId}:${app.secret}`).toString('base64')}`;

/** A raw POST to a token-endpoint-like URL: the exact status and JSON body. */
async function post(path: string, app: App, form: Record<string, string>) {
  const response = await fetch(`${server.issuer}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(app) },
    body: new URLSearchParams(form).toString(),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> | undefined };
}

const sendMessage = (token: string) => fetch(`${apiUrl}/v1/messages`, {
  method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"text":"hi"}',
});

/** An authorization request that fails before sign-in: the error parameters of the redirect back. */
async function authorizationError(scope: string) {
  const params = new URLSearchParams({ client_id: web.clientId, response_type: 'code', redirect_uri: REDIRECT_URI, scope, state: 'st',
    code_challenge: UNREDEEMED_CODE_CHALLENGE, code_challenge_method: 'S256' });
  const response = await fetch(`${server.issuer}/auth?${params}`, { redirect: 'manual' });
  expect(response.status).toBe(303);
  const location = new URL(response.headers.get('location')!);
  expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
  return Object.fromEntries(location.searchParams);
}

describe('UserInfo (OIDC Core §5.3)', () => {
  it('a web app with the default scopes asking openid profile email gets an access token that GET /me accepts', async () => {
    const { config, tokens } = await authorize('openid profile email');
    expect(tokens.scope).toBe('openid profile email');
    // The ID token carries the claims of the granted scopes too, as Keycloak and Auth0 put them there.
    expect(tokens.claims()).toMatchObject({ sub, name: 'Lin', email, email_verified: true });
    expect(await client.fetchUserInfo(config, tokens.access_token, sub)).toEqual({ sub, name: 'Lin', email, email_verified: true });
  });

  it('asking openid profile email and message:send: the one access token works at the TokenIM API and, unchanged, at UserInfo', async () => {
    const { config, tokens } = await authorize('openid profile email message:send');
    expect(decodeJwt(tokens.access_token)).toMatchObject({ aud: 'urn:tokenim:api', scope: 'message:send', sub });
    expect((await sendMessage(tokens.access_token)).status).toBe(201);
    expect(tokens.claims()).toMatchObject({ sub, name: 'Lin', email });
    // What an RP library does after the code exchange: UserInfo with that access token (as with Auth0).
    expect(await client.fetchUserInfo(config, tokens.access_token, sub)).toEqual({ sub, name: 'Lin', email, email_verified: true });
  });

  it('asking both with offline_access: a refresh for the OIDC scopes still gives an opaque UserInfo token, a plain one the API token', async () => {
    const { config, tokens } = await authorize('openid profile email offline_access message:send', { prompt: 'consent' });
    expect(decodeJwt(tokens.access_token)).toMatchObject({ aud: 'urn:tokenim:api', scope: 'message:send', sub });
    // RFC 6749 §6 / RFC 8707 §2.2: a refresh asking only OIDC scopes gives a token for UserInfo.
    const forUserInfo = await client.refreshTokenGrant(config, tokens.refresh_token!, { scope: 'openid profile email' });
    expect(forUserInfo.scope).toBe('openid profile email');
    expect(await client.fetchUserInfo(config, forUserInfo.access_token, sub)).toEqual({ sub, name: 'Lin', email, email_verified: true });
    // A plain refresh (the granted scope) is back to the API token.
    const forApi = await client.refreshTokenGrant(config, forUserInfo.refresh_token!);
    expect(decodeJwt(forApi.access_token)).toMatchObject({ aud: 'urn:tokenim:api', scope: 'message:send' });
    expect((await sendMessage(forApi.access_token)).status).toBe(201);
  });
});

describe('scope values the server does not offer (OIDC Core §3.1.2.1, §5.4; RFC 6749 §3.3)', () => {
  it('/auth: the standard phone and address scopes are ignored; the token carries the rest', async () => {
    const { tokens } = await authorize('openid profile phone address');
    expect(tokens.scope).toBe('openid profile');
    expect(tokens.claims()).not.toHaveProperty('phone_number');
  });

  it('/auth: an unknown permission is invalid_scope, sent back to the app', async () => {
    expect(await authorizationError('openid phone files:delete')).toEqual({
      error: 'invalid_scope', error_description: '"files:delete" is not a TokenIM permission', scope: 'files:delete',
      state: 'st', iss: server.issuer,
    });
  });

  it('/token (client_credentials): phone is ignored, an unknown permission is invalid_scope', async () => {
    const ignored = await post('/token', service, { grant_type: 'client_credentials', scope: 'message:send phone' });
    expect(ignored).toEqual({ status: 200, body: { access_token: expect.any(String), expires_in: 600, token_type: 'Bearer', scope: 'message:send' } });
    expect(await post('/token', service, { grant_type: 'client_credentials', scope: 'message:send files:delete' })).toEqual({
      status: 400, body: { error: 'invalid_scope', error_description: '"files:delete" is not a TokenIM permission', scope: 'files:delete' },
    });
  });
});

describe('grant_type=client_credentials (RFC 6749 §4.4, §3.3)', () => {
  it('without scope: every permission the application is allowed, and the response says which', async () => {
    const response = await post('/token', service, { grant_type: 'client_credentials' });
    expect(response).toEqual({ status: 200, body: { access_token: expect.any(String), expires_in: 600, token_type: 'Bearer',
      scope: 'message:send calls:read' } });
    expect(decodeJwt(String(response.body!.access_token))).toMatchObject({ aud: 'urn:tokenim:api', scope: 'message:send calls:read' });
  });

  it('some permissions outside the allow-list: the allowed ones are granted, and scope says which', async () => {
    const response = await post('/token', service, { grant_type: 'client_credentials', scope: 'calls:read audit:read' });
    expect(response).toEqual({ status: 200, body: { access_token: expect.any(String), expires_in: 600, token_type: 'Bearer', scope: 'calls:read' } });
  });

  it('every permission outside the allow-list → 400 invalid_scope naming them', async () => {
    expect(await post('/token', service, { grant_type: 'client_credentials', scope: 'audit:read contacts:read' })).toEqual({
      status: 400,
      body: { error: 'invalid_scope', scope: 'audit:read contacts:read',
        error_description: 'this application is not allowed audit:read contacts:read; it may ask for message:send calls:read' },
    });
  });
});

describe('unauthorized_client (RFC 6749 §5.2)', () => {
  it('a service asking for grant_type=authorization_code → 400 unauthorized_client', async () => {
    expect(await post('/token', service, { grant_type: 'authorization_code', code: 'abc', redirect_uri: REDIRECT_URI,
      code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk' })).toEqual({
      status: 400,
      body: { error: 'unauthorized_client', error_description: 'this client is not registered for grant_type=authorization_code; it may use client_credentials' },
    });
  });

  it('a web app asking for grant_type=client_credentials → 400 unauthorized_client', async () => {
    expect(await post('/token', web, { grant_type: 'client_credentials', scope: 'message:send' })).toEqual({
      status: 400,
      body: { error: 'unauthorized_client',
        error_description: 'this client is not registered for grant_type=client_credentials; it may use authorization_code, refresh_token' },
    });
  });

  it("revoking another client's token (RFC 7009 §2.1) → 400 unauthorized_client, and the token stays active", async () => {
    const { config, tokens } = await authorize('openid offline_access message:send', { prompt: 'consent' });
    expect(await post('/token/revocation', service, { token: tokens.refresh_token!, token_type_hint: 'refresh_token' })).toEqual({
      status: 400, body: { error: 'unauthorized_client', error_description: 'this token was not issued to this client' },
    });
    const introspected = await post('/token/introspection', resourceServer, { token: tokens.refresh_token! });
    expect(introspected.body).toMatchObject({ active: true, client_id: web.clientId });
    expect((await client.refreshTokenGrant(config, tokens.refresh_token!)).access_token).toEqual(expect.any(String));
  });
});
