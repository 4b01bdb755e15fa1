// RP-Initiated Logout 1.0: an application registers post_logout_redirect_uris; a logout it asks
// for with id_token_hint returns there with its state (§3), and an unregistered URI is refused
// with an error page and no redirect. Driven by openid-client's buildEndSessionUrl, real ID tokens.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
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

/** The auto-submit form of the page /session/end answers when no one is signed in. */
function logoutForm(html: string) {
  const form = /<form id="op\.logoutForm" method="post" action="([^"]+)">([\s\S]*?)<\/form>/.exec(html);
  const inputs = Object.fromEntries([...(form?.[2] ?? '').matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]));
  return { action: form?.[1], inputs, script: /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] };
}

describe('/session/end with no one signed in', () => {
  it('answers our page in the person\'s language: the same auto-submitted form, a button without scripts, our CSP', async () => {
    const jar = new CookieJar();
    const response = await request(jar, `${server.issuer}/session/end`, { headers: { 'accept-language': 'zh-CN' } });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('<html lang="zh-CN">');
    expect(html).toContain('<h1>正在退出</h1>');
    expect(html).toMatch(/<noscript>[\s\S]*请按“继续”完成退出[\s\S]*<button autofocus type="submit">继续<\/button>[\s\S]*<\/noscript>/);
    expect(html).not.toMatch(/Submitting Callback|Continue|JavaScript/);
    const form = logoutForm(html);
    expect(form.action).toBe(`${server.issuer}/session/end/confirm`);
    expect(Object.keys(form.inputs).sort()).toEqual(['logout', 'xsrf']);
    expect(form.inputs.logout).toBe('yes');
    // Only that script runs: the CSP names its hash, and nothing else may load.
    const csp = response.headers.get('content-security-policy')!;
    const digest = createHash('sha256').update(form.script!).digest('base64');
    expect(csp).toContain(`script-src 'sha256-${digest}'`);
    expect(csp).toContain("default-src 'none'");
    expect(csp.match(/'sha256-/g)).toHaveLength(1);
    // Posting it does what the library's page did: the signed-out page.
    const confirmed = await request(jar, form.action!, { form: form.inputs });
    expect(confirmed.status).toBe(303);
    const done = await follow(jar, server.issuer, new URL(confirmed.headers.get('location')!, server.issuer).href, { 'accept-language': 'zh-CN' });
    expect(await done.response.text()).toContain('<html lang="zh-CN">');
  });

  it('still returns to the app\'s registered post_logout_redirect_uri with its state', async () => {
    const app = await register('web', 'https://chat.example.test/callback', ['https://chat.example.test/signed-out']);
    const { config, idToken } = await signIn(app);
    const elsewhere = new CookieJar(); // a browser with no session here (signed out already, or another one)
    const url = client.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: 'https://chat.example.test/signed-out',
      state: 's-9', ui_locales: 'zh-CN' });
    const html = await (await request(elsewhere, url.href)).text();
    expect(html).toContain('<html lang="zh-CN">');
    const form = logoutForm(html);
    const confirmed = await request(elsewhere, form.action!, { form: form.inputs });
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.get('location')).toBe('https://chat.example.test/signed-out?state=s-9');
  });
});

describe('a logout request that cannot be honoured (an undecodable id_token_hint)', () => {
  const endSession = () => `${server.issuer}/session/end?${new URLSearchParams({ id_token_hint: 'not-a-jwt' })}`;

  it('tells a signed-in person that they are still signed in', async () => {
    const app = await register('web', 'https://chat.example.test/callback', undefined);
    const { jar } = await signIn(app);
    const response = await request(jar, endSession(), { headers: { accept: 'text/html', 'accept-language': 'en' } });
    expect(response.status).toBe(400);
    const html = await response.text();
    expect(html).toContain('data-error-code>invalid_request<');
    expect(html).toContain('You are still signed in; sign out from your account page instead.');
    const chinese = await (await request(jar, endSession(), { headers: { accept: 'text/html', 'accept-language': 'zh-CN' } })).text();
    expect(chinese).toContain('你仍处于登录状态');
  });

  it('does not tell someone with no session that they are still signed in', async () => {
    for (const [language, notSignedIn, stillSignedIn] of [
      ['en', 'sign-out request is not valid. You are not signed in to TokenIM.', 'still signed in'],
      ['zh-CN', '应用的退出请求无效。你当前未登录 TokenIM。', '仍处于登录状态'],
    ] as const) {
      const response = await request(new CookieJar(), endSession(), { headers: { accept: 'text/html', 'accept-language': language } });
      expect(response.status).toBe(400);
      const html = await response.text();
      expect(html).toContain('data-error-code>invalid_request<');
      expect(html).toContain(notSignedIn);
      expect(html).not.toContain(stillSignedIn);
    }
  });
});
