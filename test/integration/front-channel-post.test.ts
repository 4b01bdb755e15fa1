// Form posts to the authorization endpoint (OIDC Core §3.1.2.1: GET and POST) and to the
// end-session endpoint (RP-Initiated Logout 1.0 §2: GET and POST), over HTTP against the real
// server, with the parameters openid-client builds.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { MAX_QUERY_BYTES } from '../../src/http/koa-post-as-get.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { CookieJar, follow, request, signInAndConsent } from '../helpers/browserless-login.ts';
import { authorizationRequest } from '../helpers/relying-party.ts';

const PASSWORD = 'correct horse battery staple';
const REDIRECT_URI = 'http://localhost/callback';
const SIGNED_OUT_URI = 'http://localhost/signed-out';
const actor = { kind: 'system', id: 'test' } as const;

let server: TestServer;
let app: { clientId: string; secret: string };
let account: { id: string; email: string };

beforeAll(async () => {
  server = await startTestServer();
  const email = `post.${Date.now()}@example.test`;
  const created = await createAccount(server.services.accountDeps, { email, password: PASSWORD, name: 'Ada', emailVerified: true }, actor);
  account = { id: created.id, email };
  const application = await createApplication(server.services.applicationDeps,
    { name: 'Chat Web', type: 'web', redirectUris: [REDIRECT_URI], postLogoutRedirectUris: [SIGNED_OUT_URI] }, actor);
  app = { clientId: application.application.clientId, secret: application.secret!.clientSecret };
});
afterAll(() => server?.close());

const authorization = (extra: Record<string, string> = {}) => authorizationRequest(server.issuer, app, REDIRECT_URI, extra);

/** Posts `body` (a form unless a content type is given) without following the answer. */
const post = (path: string, body: URLSearchParams | string, jar = new CookieJar(), headers: Record<string, string> = {}) =>
  fetch(`${server.issuer}${path}`, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header(), ...headers },
    body: body.toString(),
  }).then((response) => { jar.store(response); return response; });

const sorted = (params: URLSearchParams) => [...params].sort(([a], [b]) => a.localeCompare(b));

describe('POST /auth', () => {
  let jar: CookieJar;

  it('answers 303 to GET /auth with the same parameters; the flow then ends with a code for the account', async () => {
    const { url, redeem } = await authorization();
    jar = new CookieJar();
    const response = await post('/auth', url.searchParams, jar);
    expect(response.status).toBe(303);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const location = new URL(response.headers.get('location')!, server.issuer);
    expect(location.origin + location.pathname).toBe(`${server.issuer}/auth`);
    expect(sorted(location.searchParams)).toEqual(sorted(url.searchParams));

    const callback = await signInAndConsent(server.issuer, location.href, { email: account.email, password: PASSWORD }, 'allow', jar);
    const tokens = await redeem(callback);
    expect(tokens.claims()).toMatchObject({ sub: account.id, email: account.email });
  });

  it('finds the session after the 303 as for a link: prompt=none gets a code without asking again', async () => {
    const { url, redeem } = await authorization({ prompt: 'none' });
    const response = await post('/auth', url.searchParams, jar);
    const { url: callback } = await follow(jar, server.issuer, new URL(response.headers.get('location')!, server.issuer).href);
    expect(callback.startsWith(REDIRECT_URI)).toBe(true);
    const tokens = await redeem(callback);
    expect(tokens.claims()?.sub).toBe(account.id);
  });

  it('keeps repeated parameters, which the provider refuses as it does on GET', async () => {
    const { url } = await authorization();
    const params = new URLSearchParams(url.searchParams);
    params.append('scope', 'openid profile');
    const response = await post('/auth', params);
    expect(response.status).toBe(303);
    const viaPost = new URL(response.headers.get('location')!, server.issuer);
    expect(viaPost.searchParams.getAll('scope')).toEqual(['openid email', 'openid profile']);
    const viaGet = new URL(`/auth?${params}`, server.issuer);
    const [afterPost, afterGet] = await Promise.all([viaPost, viaGet].map((u) => follow(new CookieJar(), server.issuer, u.href)));
    for (const { url: outcome } of [afterPost!, afterGet!]) {
      const answer = new URL(outcome).searchParams;
      expect(outcome.startsWith(REDIRECT_URI)).toBe(true);
      expect(answer.get('error')).toBe('invalid_request');
      expect(answer.get('error_description')).toBe("'scope' parameter must not be provided twice");
    }
  });

  it('passes request_uri through: a pushed authorization request (RFC 9126) posted to /auth ends with a code', async () => {
    const { config, parameters, redeem } = await authorization();
    const url = await client.buildAuthorizationUrlWithPAR(config, parameters);
    expect(url.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    const parJar = new CookieJar();
    const response = await post('/auth', url.searchParams, parJar);
    expect(response.status).toBe(303);
    const callback = await signInAndConsent(server.issuer, new URL(response.headers.get('location')!, server.issuer).href,
      { email: account.email, password: PASSWORD }, 'allow', parJar);
    const tokens = await redeem(callback);
    expect(tokens.claims()?.sub).toBe(account.id);
  });

  it('passes a request object through to the provider, which does not support them (request_not_supported)', async () => {
    const { url } = await authorization();
    const params = new URLSearchParams(url.searchParams);
    params.set('request', 'eyJhbGciOiJub25lIn0.e30.');
    const response = await post('/auth', params);
    expect(response.status).toBe(303);
    expect(new URL(response.headers.get('location')!, server.issuer).searchParams.get('request')).toBe('eyJhbGciOiJub25lIn0.e30.');
    const { url: outcome } = await follow(new CookieJar(), server.issuer, new URL(response.headers.get('location')!, server.issuer).href);
    expect(outcome.startsWith(REDIRECT_URI)).toBe(true);
    expect(new URL(outcome).searchParams.get('error')).toBe('request_not_supported');
  });

  it.each([
    ['application/json', JSON.stringify({ client_id: 'x' })],
    ['text/plain', 'client_id=x'],
    ['multipart/form-data; boundary=b', '--b\r\nContent-Disposition: form-data; name="client_id"\r\n\r\nx\r\n--b--\r\n'],
  ])('refuses a %s body with 400 invalid_request', async (type, body) => {
    const response = await post('/auth', body, new CookieJar(), { 'content-type': type, accept: 'application/json' });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('refuses a form that is not UTF-8 with 400', async () => {
    const response = await fetch(`${server.issuer}/auth`, {
      method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: Buffer.from([0x63, 0x3d, 0xff]), // c=<0xFF>
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('refuses a form too large to become a URL with 413, and takes one just within the limit', async () => {
    const base = new URLSearchParams({ client_id: app.clientId, response_type: 'code', state: '' }).toString();
    const fits = new URLSearchParams({ client_id: app.clientId, response_type: 'code', state: 'a'.repeat(MAX_QUERY_BYTES - base.length) });
    expect(fits.toString().length).toBe(MAX_QUERY_BYTES);
    const atLimit = await post('/auth', fits);
    expect(atLimit.status).toBe(303);
    // The GET that follows is served (no 431): the provider answers the app (here: PKCE is missing).
    const { url: outcome } = await follow(new CookieJar(), server.issuer, new URL(atLimit.headers.get('location')!, server.issuer).href);
    expect(outcome.startsWith(REDIRECT_URI)).toBe(true);
    fits.set('state', `${fits.get('state')}a`);
    const response = await post('/auth', fits, new CookieJar(), { accept: 'application/json' });
    expect(response.status).toBe(413);
    expect(response.headers.get('location')).toBeNull();
  });
});

describe('POST /session/end', () => {
  it('with id_token_hint shows the logout page; confirming returns to the registered post_logout_redirect_uri with the state', async () => {
    const { config, url, redeem } = await authorization();
    const jar = new CookieJar();
    const callback = await signInAndConsent(server.issuer, url.href, { email: account.email, password: PASSWORD }, 'allow', jar);
    const tokens = await redeem(callback);
    const logoutState = client.randomState();
    const endSession = client.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token!, post_logout_redirect_uri: SIGNED_OUT_URI, state: logoutState,
    });

    const response = await post('/session/end', endSession.searchParams, jar);
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location')!, server.issuer);
    expect(location.pathname).toBe('/session/end');
    expect(sorted(location.searchParams)).toEqual(sorted(endSession.searchParams));
    const { response: page } = await follow(jar, server.issuer, location.href);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('id="op.logoutForm"');

    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)![1]!;
    const confirmed = await request(jar, `${server.issuer}/session/end/confirm`, { form: { xsrf, logout: 'yes' } });
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.get('location')).toBe(`${SIGNED_OUT_URI}?state=${logoutState}`);
  });
});
