// RP-Initiated Logout 1.0: an application registers post_logout_redirect_uris; a logout it asks
// for with id_token_hint returns there with its state (§3), and an unregistered URI is refused
// with an error page and no redirect. Driven by openid-client's buildEndSessionUrl, real ID tokens.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { CookieJar, follow, request, signInAndConsent, signInPageUrl } from '../helpers/browserless-login.ts';
import { authorizationRequest } from '../helpers/relying-party.ts';

const PASSWORD = 'correct horse battery staple';
const actor = { kind: 'system', id: 'test' } as const;

let server: TestServer;
let email: string;

beforeAll(async () => {
  server = await startTestServer();
  email = `logout.${Date.now()}@example.test`;
  await createAccount(server.services.accountDeps, { email, password: PASSWORD, name: 'Ada', emailVerified: true }, actor);
});
afterAll(() => server?.close());

interface App { clientId: string; secret?: string; redirectUri: string }

async function register(type: 'web' | 'native', redirectUri: string, postLogoutRedirectUris: string[] | undefined): Promise<App> {
  const created = await createApplication(server.services.applicationDeps,
    { name: 'Chat', type, redirectUris: [redirectUri], ...(postLogoutRedirectUris ? { postLogoutRedirectUris } : {}) }, actor);
  return { clientId: created.application.clientId, secret: created.secret?.clientSecret, redirectUri };
}

/** Signs in through the pages as `app` and returns the RP configuration, the session's cookies and the ID token. */
async function signIn(app: App) {
  const { config, url, redeem } = await authorizationRequest(server.issuer, app, app.redirectUri, { scope: 'openid' });
  const jar = new CookieJar();
  const tokens = await redeem(await signInAndConsent(server.issuer, url.href, { email, password: PASSWORD }, 'allow', jar));
  return { config, jar, idToken: tokens.id_token! };
}

/** Opens the end-session URL, confirms the logout on the page, and returns where the browser is sent. */
async function logOut(jar: CookieJar, endSessionUrl: URL): Promise<string | null> {
  const { response } = await follow(jar, server.issuer, endSessionUrl.href);
  const html = await response.text();
  expect(response.status).toBe(200);
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)![1]!;
  const confirmed = await request(jar, `${server.issuer}/session/end/confirm`, { form: { xsrf, logout: 'yes' } });
  expect(confirmed.status).toBe(303);
  return confirmed.headers.get('location');
}

describe('post_logout_redirect_uri', () => {
  it('returns to a registered URI with the state, after the person confirms the logout', async () => {
    const app = await register('web', 'https://chat.example.test/callback', ['https://chat.example.test/signed-out']);
    const { config, jar, idToken } = await signIn(app);
    const state = client.randomState();
    const url = client.buildEndSessionUrl(config, {
      id_token_hint: idToken, post_logout_redirect_uri: 'https://chat.example.test/signed-out', state,
    });
    expect(await logOut(jar, url)).toBe(`https://chat.example.test/signed-out?state=${state}`);
    // The session is gone: the next sign-in asks for the password again.
    const again = await follow(jar, server.issuer, signInPageUrl(server.issuer, app.clientId, {}, app.redirectUri));
    expect(await again.response.text()).toContain('name="password"');
  });

  it('returns a native app to its private-use scheme', async () => {
    const app = await register('native', 'com.example.chat:/callback', ['com.example.chat:/signed-out']);
    const { config, jar, idToken } = await signIn(app);
    const url = client.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: 'com.example.chat:/signed-out', state: 'x1' });
    expect(await logOut(jar, url)).toBe('com.example.chat:/signed-out?state=x1');
  });

  it.each([
    ['a URI the app did not register', ['https://chat.example.test/signed-out'], 'https://evil.example.test/'],
    ['a registered URI with something appended', ['https://chat.example.test/signed-out'], 'https://chat.example.test/signed-out/x'],
    ['any URI, for an app that registered none', undefined, 'https://chat.example.test/'],
  ])('refuses %s with an error page and no redirect', async (_name, registered, asked) => {
    const app = await register('web', 'https://chat.example.test/callback', registered);
    const { config, jar, idToken } = await signIn(app);
    const url = client.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: asked, state: 'x2' });
    const { response } = await follow(jar, server.issuer, url.href, { accept: 'text/html' }); // as a browser asks
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    const html = await response.text();
    expect(html).toContain('data-error-code>invalid_request<');
    expect(html).not.toContain('op.logoutForm');
  });
});

describe('registering post_logout_redirect_uris', () => {
  it.each([
    ['web', 'http://chat.example.test/signed-out', /must use https/],
    ['web', 'https://chat.example.test/signed-out#top', /fragment/],
    ['web', 'https://*.example.test/signed-out', /wildcards/],
    ['web', 'com.example.chat:/signed-out', /must use https/],
    ['native', 'http://chat.example.test/signed-out', /loopback address or a private-use scheme/],
    ['native', 'javascript:alert(1)', /javascript scheme/],
    ['service', 'https://bot.example.test/', /service application has no post-logout redirect URIs/],
    ['web', 'signed-out', /not an absolute URL/],
  ])('refuses for a %s app: %s', async (type, uri, message) => {
    await expect(createApplication(server.services.applicationDeps, {
      name: 'Chat', type, scope: type === 'service' ? 'message:send' : undefined,
      redirectUris: type === 'service' ? [] : [type === 'native' ? 'com.example.chat:/callback' : 'https://chat.example.test/callback'],
      postLogoutRedirectUris: [uri],
    }, actor)).rejects.toMatchObject({ code: 'invalid_redirect_uri', message: expect.stringMatching(message) });
  });

  it('keeps exact, de-duplicated URIs and loopback http for development', async () => {
    const { application } = await createApplication(server.services.applicationDeps, {
      name: 'Chat', type: 'web', redirectUris: ['http://localhost:8080/callback'],
      postLogoutRedirectUris: [' http://localhost:8080/signed-out ', 'http://localhost:8080/signed-out', 'https://chat.example.test/bye'],
    }, actor);
    expect(application.postLogoutRedirectUris).toEqual(['http://localhost:8080/signed-out', 'https://chat.example.test/bye']);
    const stored = await server.services.applicationDeps.applications.findApplicationByClientId(application.clientId);
    expect(stored?.postLogoutRedirectUris).toEqual(application.postLogoutRedirectUris);
  });
});
