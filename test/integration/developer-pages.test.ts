// The /developers pages over HTTP (issue 10): a developer creates a service application, reads its
// API key once, uses it, rotates it with a grace, revokes the old key and deletes the application;
// nobody else sees or changes it, roles bound the permissions, and every form needs CSRF.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createDeveloperApplication } from '../../src/applications/create-developer-application.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { CookieJar, csrfFrom, follow, request } from '../helpers/browserless-login.ts';

const actor = { kind: 'system', id: 'test' } as const;
const PASSWORD = 'developers build things';
let server: TestServer;
beforeAll(async () => { server = await startTestServer(); });
afterAll(() => server.close());

let people = 0;
async function signedInDeveloper(roles?: string[]) {
  people += 1;
  const email = `dev${people}@example.test`;
  const account = await createAccount(server.services.accountDeps, { email, password: PASSWORD, name: 'Dev', emailVerified: true, roles }, actor);
  const jar = new CookieJar();
  const login = await follow(jar, server.issuer, `${server.issuer}/developers`);
  const posted = await request(jar, `${login.url}/login`, { form: { email, password: PASSWORD, _csrf: csrfFrom(await login.response.text()) } });
  const page = await follow(jar, server.issuer, new URL(posted.headers.get('location')!, server.issuer).href);
  expect(page.url).toBe(`${server.issuer}/developers`);
  return { id: account.id, jar, html: await page.response.text() };
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
async function clientCredentials(id: string, secret: string) {
  const response = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(id, secret) },
    body: 'grant_type=client_credentials&scope=message%3Asend',
  });
  return { status: response.status, body: await response.json() as Record<string, string> };
}

const attr = (html: string, name: string) => new RegExp(`${name}>([^<]+)<`).exec(html)?.[1];
const appUrl = (clientId: string, rest = '') => `${server.issuer}/developers/applications/${clientId}${rest}`;
const owned = (id: string) => server.services.stores.durable.applications.listApplicationsByOwnerId(id);

async function postForm(jar: CookieJar, pageUrl: string, actionUrl: string, form: Record<string, string>) {
  const page = await request(jar, pageUrl);
  return request(jar, actionUrl, { form: { ...form, _csrf: csrfFrom(await page.text()) } });
}

/** Sends the new-application form; when it is taken (303), opens the page it redirects to, which shows the key once. */
async function createService(jar: CookieJar, scope = 'message:send') {
  const response = await postForm(jar, `${server.issuer}/developers`, `${server.issuer}/developers/applications`,
    { name: 'Billing bot', type: 'service', scope, redirect_uris: '' });
  const shown = response.status === 303 ? await request(jar, new URL(response.headers.get('location')!, server.issuer).href) : undefined;
  const html = await (shown ?? response).text();
  return { response, shown, html, clientId: attr(html, 'data-client-id'), secret: attr(html, 'data-client-secret') };
}

describe('/developers: a service application from creation to deletion', () => {
  it('the key is shown once, works, survives a rotation for its grace, and the old one ends on "revoke now"', async () => {
    const dev = await signedInDeveloper();
    expect(dev.html).toContain('data-form="new-application"');
    const created = await createService(dev.jar);
    expect(created.response.status).toBe(303);
    expect(created.shown!.status).toBe(200);
    expect(created.shown!.headers.get('cache-control')).toBe('no-store');
    expect(created.clientId).toMatch(/^tkm_/);
    expect(created.secret).toMatch(/^tkm_sk_/);
    expect(created.html).toContain('it will not be shown again');
    const clientId = created.clientId!;
    const first = created.secret!;
    expect((await clientCredentials(clientId, first)).status).toBe(200);

    // A reload shows the application and its key's hint, never the key itself.
    const page = await (await request(dev.jar, appUrl(clientId))).text();
    expect(attr(page, 'data-client-id')).toBe(clientId);
    expect(page).not.toContain('data-client-secret');
    expect(page).not.toContain(first);
    expect(page).toContain(`…${first.slice(-4)}`);
    expect(page).toContain(`curl -u &#39;${clientId}:YOUR_API_KEY&#39;`);
    const list = await (await request(dev.jar, `${server.issuer}/developers`)).text();
    expect(list).toContain(`data-application="${clientId}"`);
    expect(list).not.toContain(first);

    const rotated = await postForm(dev.jar, appUrl(clientId), appUrl(clientId, '/rotate-secret'), { grace: '86400' });
    expect(rotated.status).toBe(303);
    const rotatedHtml = await (await request(dev.jar, appUrl(clientId, '/new-key'))).text();
    const second = attr(rotatedHtml, 'data-client-secret')!;
    expect(second).toMatch(/^tkm_sk_/);
    expect(second).not.toBe(first);
    expect(rotatedHtml).toContain('data-previous-valid-until');
    expect((await clientCredentials(clientId, first)).status).toBe(200);
    expect((await clientCredentials(clientId, second)).status).toBe(200);

    const afterRotation = await (await request(dev.jar, appUrl(clientId))).text();
    const oldId = /data-secret-id="([^"]+)" data-secret-status="in_grace"/.exec(afterRotation)?.[1];
    expect(oldId).toBeDefined();
    const revoked = await postForm(dev.jar, appUrl(clientId), appUrl(clientId, `/secrets/${oldId}/revoke`), {});
    expect(revoked.status).toBe(303);
    expect(revoked.headers.get('location')).toBe(`/developers/applications/${clientId}?saved=secret_revoked`);
    const refused = await clientCredentials(clientId, first);
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('invalid_client');
    expect(refused.body.error_description).toMatch(/^This API key was replaced on .+; use the newest key\.$/);
    expect((await clientCredentials(clientId, second)).status).toBe(200);
  });

  it('delete needs the confirmation, then revokes the application: its key gets invalid_client "disabled"', async () => {
    const dev = await signedInDeveloper();
    const { clientId, secret } = await createService(dev.jar);
    const unconfirmed = await postForm(dev.jar, appUrl(clientId!), appUrl(clientId!, '/delete'), {});
    expect(unconfirmed.status).toBe(400);
    expect(await unconfirmed.text()).toContain('Tick the box to confirm the deletion.');
    expect((await clientCredentials(clientId!, secret!)).status).toBe(200);

    const deleted = await postForm(dev.jar, appUrl(clientId!), appUrl(clientId!, '/delete'), { confirm: 'yes' });
    expect(deleted.status).toBe(303);
    expect(deleted.headers.get('location')).toBe('/developers?saved=deleted');
    const refused = await clientCredentials(clientId!, secret!);
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('invalid_client');
    expect(refused.body.error_description).toMatch(/has been disabled/);
    expect((await request(dev.jar, appUrl(clientId!))).status).toBe(404);
    const ledger = await server.services.stores.durable.audit.listAuditEvents({ type: 'client.deleted', limit: 1000 });
    expect(ledger.some((e) => e.clientId === clientId && e.actor.id === dev.id)).toBe(true);
  });
});

describe('/developers: a new key is shown once (POST/redirect/GET); a reload or a re-sent form changes nothing', () => {
  const NEW_KEY_COOKIE = 'tokenim_new_key';
  const newKeyCookie = (response: Response) => response.headers.getSetCookie().find((c) => c.startsWith(`${NEW_KEY_COOKIE}=`));
  const application = (clientId: string) => server.services.stores.durable.applications.findApplicationByClientId(clientId);
  const SHOWN_ONCE = 'was shown once, right after it was created or rotated';

  it('create: 303 to the key page, which shows the key once; a reload shows the application and the notice; the same form again creates nothing', async () => {
    const dev = await signedInDeveloper();
    const form = { name: 'Billing bot', type: 'service', scope: 'message:send', redirect_uris: '', _csrf: csrfFrom(dev.html) };
    const posted = await request(dev.jar, `${server.issuer}/developers/applications`, { form });
    expect(posted.status).toBe(303);
    const location = posted.headers.get('location')!;
    const [clientId] = (await owned(dev.id)).map((a) => a.clientId);
    expect(location).toBe(`/developers/applications/${clientId}/new-key`);
    // The key rides to that page sealed in a short-lived, HttpOnly, SameSite=Strict cookie, never in the clear.
    const cookie = newKeyCookie(posted)!;
    const expires = Date.parse(/; expires=([^;]+)/i.exec(cookie)![1]!) - Date.now();
    expect(expires).toBeGreaterThan(240_000);
    expect(expires).toBeLessThanOrEqual(300_000);
    expect(cookie).toMatch(/; path=\/;/i);
    expect(cookie).toMatch(/; samesite=strict/i);
    expect(cookie).toMatch(/; httponly/i);
    expect(await posted.text()).not.toContain('tkm_sk_');

    const shown = await request(dev.jar, `${server.issuer}${location}`);
    expect(shown.status).toBe(200);
    expect(newKeyCookie(shown)).toMatch(/^tokenim_new_key=;.*expires=Thu, 01 Jan 1970/i);
    const html = await shown.text();
    const key = attr(html, 'data-client-secret')!;
    expect(key).toMatch(/^tkm_sk_/);
    expect(cookie).not.toContain(key);
    expect(JSON.stringify(await application(clientId!))).not.toContain(key);
    expect((await clientCredentials(clientId!, key)).status).toBe(200);

    const reloaded = await request(dev.jar, `${server.issuer}${location}`);
    expect(reloaded.status).toBe(200);
    const again = await reloaded.text();
    expect(again).not.toContain('data-client-secret');
    expect(again).not.toContain(key);
    expect(attr(again, 'data-client-id')).toBe(clientId);
    expect(again).toContain('data-key-shown-once');
    expect(again).toContain(SHOWN_ONCE);

    // The same form sent again (its CSRF token is single-use): no second application, the form comes back saying so.
    const resent = await request(dev.jar, `${server.issuer}/developers/applications`, { form });
    expect(resent.status).toBe(409);
    expect(await resent.text()).toContain('This form was already sent, and the application was created then');
    expect(newKeyCookie(resent)).toBeUndefined();
    expect(await owned(dev.id)).toHaveLength(1);
    // A new page is a new form: it creates.
    expect((await createService(dev.jar)).response.status).toBe(303);
    expect(await owned(dev.id)).toHaveLength(2);
  });

  it('rotate: the key page shows the new key once; a reload and the same form again keep two keys, the old one working in its grace', async () => {
    const dev = await signedInDeveloper();
    const { clientId, secret: first } = await createService(dev.jar);
    const form = { grace: '86400', _csrf: csrfFrom(await (await request(dev.jar, appUrl(clientId!))).text()) };
    const rotated = await request(dev.jar, appUrl(clientId!, '/rotate-secret'), { form });
    expect(rotated.status).toBe(303);
    expect(rotated.headers.get('location')).toBe(`/developers/applications/${clientId}/new-key`);
    const shown = await (await request(dev.jar, appUrl(clientId!, '/new-key'))).text();
    const second = attr(shown, 'data-client-secret')!;
    expect(second).toMatch(/^tkm_sk_/);
    expect(second).not.toBe(first);
    expect(shown).toContain('data-previous-valid-until');

    const reloaded = await (await request(dev.jar, appUrl(clientId!, '/new-key'))).text();
    expect(reloaded).not.toContain('data-client-secret');
    expect(reloaded).not.toContain(second);
    expect(reloaded).toContain(SHOWN_ONCE);

    // The same rotate form again: no third key (which would end the first key's grace), back to the key page.
    const resent = await request(dev.jar, appUrl(clientId!, '/rotate-secret'), { form });
    expect(resent.status).toBe(303);
    expect(resent.headers.get('location')).toBe(`/developers/applications/${clientId}/new-key`);
    expect(await (await request(dev.jar, appUrl(clientId!, '/new-key'))).text()).not.toContain('data-client-secret');
    expect((await application(clientId!))!.secrets).toHaveLength(2);
    expect((await clientCredentials(clientId!, first!)).status).toBe(200);
    expect((await clientCredentials(clientId!, second)).status).toBe(200);
  });

  it('the sealed key opens only for the account and the application it was made for', async () => {
    const dev = await signedInDeveloper();
    const other = await createService(dev.jar);
    const form = { name: 'Billing bot', type: 'service', scope: 'message:send', _csrf: csrfFrom(dev.html) };
    const posted = await request(dev.jar, `${server.issuer}/developers/applications`, { form });
    const sealed = newKeyCookie(posted)!.split(';')[0]!;
    const clientId = /applications\/([^/]+)\/new-key/.exec(posted.headers.get('location')!)![1]!;
    const withSealed = (jar: CookieJar) => ({ cookie: `${jar.header().replace(/(^|; )tokenim_new_key=[^;]*/, '')}; ${sealed}` });

    // Another application of the same developer: nothing shown.
    const elsewhere = await (await request(dev.jar, appUrl(other.clientId!, '/new-key'), { headers: withSealed(dev.jar) })).text();
    expect(elsewhere).not.toContain('data-client-secret');
    expect(elsewhere).toContain(SHOWN_ONCE);
    // Another person signed in, with this browser's sealed cookie: their own application shows nothing either.
    const stranger = await signedInDeveloper();
    const theirs = await createService(stranger.jar);
    const replayed = await (await request(stranger.jar, appUrl(theirs.clientId!, '/new-key'), { headers: withSealed(stranger.jar) })).text();
    expect(replayed).not.toContain('data-client-secret');
    // The one it was made for shows it.
    const shown = await (await request(dev.jar, appUrl(clientId, '/new-key'), { headers: withSealed(dev.jar) })).text();
    expect(attr(shown, 'data-client-secret')).toMatch(/^tkm_sk_/);
  });
});

describe('/developers: who may see and change what', () => {
  it('another person gets 404 on the page and on every change; the application is unchanged', async () => {
    const owner = await signedInDeveloper();
    const { clientId, secret } = await createService(owner.jar);
    const other = await signedInDeveloper();
    const before = await server.services.stores.durable.applications.findApplicationByClientId(clientId!);
    expect((await request(other.jar, appUrl(clientId!))).status).toBe(404);
    const csrf = csrfFrom(other.html);
    for (const path of ['/rotate-secret', `/secrets/${before!.secrets[0]!.id}/revoke`, '/delete', '/scope']) {
      const response = await request(other.jar, appUrl(clientId!, path), { form: { _csrf: csrf, grace: '0', confirm: 'yes', scope: 'contacts:read' } });
      expect(response.status).toBe(404);
    }
    expect(await server.services.stores.durable.applications.findApplicationByClientId(clientId!)).toEqual(before);
    expect((await clientCredentials(clientId!, secret!)).status).toBe(200);
    expect(other.html).not.toContain(clientId!);
  });

  it('a member cannot tick calls:read: the form comes back with the reason and nothing is created', async () => {
    const member = await signedInDeveloper();
    const attempt = await createService(member.jar, 'calls:read');
    expect(attempt.response.status).toBe(403);
    expect(attempt.html).toContain('Your roles do not allow calls:read');
    expect(attempt.html).toContain('data-form="new-application"');
    expect(attempt.secret).toBeUndefined();
    expect(await owned(member.id)).toEqual([]);
  });

  it('changing permissions is held to the roles too: contacts:read is saved, calls:read refused and nothing changes', async () => {
    const member = await signedInDeveloper();
    const { clientId } = await createService(member.jar);
    const scopeOf = async () => (await server.services.stores.durable.applications.findApplicationByClientId(clientId!))!.scope;
    const page = await (await request(member.jar, appUrl(clientId!))).text();
    expect(page).toContain('data-form="change-scope"');
    const csrf = csrfFrom(page);
    const post = (scopes: string[]) => fetch(appUrl(clientId!, '/scope'), {
      method: 'POST', redirect: 'manual',
      headers: { cookie: member.jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams([...scopes.map((s): [string, string] => ['scope', s]), ['_csrf', csrf]]).toString(),
    });
    const saved = await post(['message:send', 'contacts:read']);
    expect(saved.status).toBe(303);
    expect(saved.headers.get('location')).toBe(`/developers/applications/${clientId}?saved=scope`);
    expect(await scopeOf()).toBe('message:send contacts:read');
    const refused = await post(['message:send', 'calls:read']);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('Your roles do not allow calls:read');
    expect(await scopeOf()).toBe('message:send contacts:read');
  });

  it('a support person asking for calls:read gets the application, the permission marked pending approval', async () => {
    const support = await signedInDeveloper(['support']);
    const { clientId } = await createService(support.jar, 'calls:read');
    const [application] = await owned(support.id);
    expect(application!.pendingScope).toBe('calls:read');
    const page = await (await request(support.jar, appUrl(clientId!))).text();
    expect(page).toMatch(/data-scope="calls:read" data-pending-approval>[^]*Pending approval/);
  });

  it('a form post without the CSRF token, or from another site, is refused with 403 and creates nothing', async () => {
    const dev = await signedInDeveloper();
    const form = { name: 'Forged', type: 'service', scope: 'message:send' };
    const forged = await request(dev.jar, `${server.issuer}/developers/applications`, { form });
    expect(forged.status).toBe(403);
    const crossSite = await request(dev.jar, `${server.issuer}/developers/applications`,
      { form: { ...form, _csrf: csrfFrom(dev.html) }, headers: { 'sec-fetch-site': 'cross-site' } });
    expect(crossSite.status).toBe(403);
    expect(await owned(dev.id)).toEqual([]);
  });

  it('without a sign-in, a GET goes to sign in and a POST changes nothing', async () => {
    const jar = new CookieJar();
    const page = await request(jar, `${server.issuer}/developers`);
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toMatch(/^\/auth\?.*state=%2Fdevelopers/);
    const dev = await signedInDeveloper();
    const { clientId } = await createService(dev.jar);
    // A valid CSRF token of this browser (from a public form), so that only the sign-in check can refuse.
    const csrf = csrfFrom(await (await request(jar, `${server.issuer}/register`)).text());
    for (const [path, form] of [['/delete', { confirm: 'yes' }], ['/rotate-secret', { grace: '0' }]] as const) {
      const anonymous = await request(jar, appUrl(clientId!, path), { form: { ...form, _csrf: csrf } });
      expect(anonymous.status).toBe(303);
      expect(anonymous.headers.get('location')).toBe('/developers');
    }
    const created = await request(jar, `${server.issuer}/developers/applications`,
      { form: { name: 'Anon', type: 'service', scope: 'message:send', _csrf: csrf } });
    expect(created.status).toBe(303);
    expect((await server.services.stores.durable.applications.findApplicationByClientId(clientId!))!.secrets).toHaveLength(1);
    expect((await server.services.stores.durable.applications.findApplicationByClientId(clientId!))!.revokedAt).toBeNull();
  });
});

describe('/developers: how to use a web or native application', () => {
  /** An application of the developer's, registered the way the page registers it. */
  async function ownApplication(developerId: string, input: { name: string; type: string; scope: string; redirectUris?: string[] }) {
    const developer = (await server.services.stores.durable.accounts.findAccountById(developerId))!;
    return (await createDeveloperApplication(server.services.applicationDeps, developer, input)).application.clientId;
  }

  it.each([
    ['web', 'https://chat.example.com/callback'],
    ['native', 'com.example.chat:/callback'],
  ])('a %s app\'s page shows the token endpoint, the discovery URL and an /auth example with PKCE that the server takes', async (type, redirectUri) => {
    const dev = await signedInDeveloper();
    const clientId = await ownApplication(dev.id, { name: 'Chat', type, scope: 'openid message:send', redirectUris: [redirectUri] });
    const page = await (await request(dev.jar, appUrl(clientId))).text();

    const discovery = attr(page, 'data-discovery');
    expect(discovery).toBe(`${server.issuer}/.well-known/openid-configuration`);
    const metadata = await (await fetch(discovery!)).json() as Record<string, string>;
    // What the page shows is what discovery advertises.
    expect(attr(page, 'data-token-endpoint')).toBe(metadata.token_endpoint);
    expect(metadata.token_endpoint).toBe(`${server.issuer}/token`);

    const example = new URL(/data-usage="authorize">([^<]+)</.exec(page)![1]!.replaceAll('&amp;', '&'));
    expect(`${example.origin}${example.pathname}`).toBe(metadata.authorization_endpoint);
    expect(Object.fromEntries(example.searchParams)).toEqual({ client_id: clientId, response_type: 'code', scope: 'openid message:send',
      redirect_uri: redirectUri, code_challenge: expect.any(String), code_challenge_method: 'S256', state: expect.any(String) });
    expect(page).toContain('data-usage="code-exchange"');
    expect(page).toContain(type === 'web' ? 'with its code_verifier and your API key' : 'a native app has no API key');
    expect(page).not.toContain('data-usage="curl"');

    // With the placeholders filled in (RFC 7636 §4.2: a 43-character S256 challenge), the server takes the request to its sign-in page.
    example.searchParams.set('code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    example.searchParams.set('state', 'af0ifjsldkj');
    const signIn = await follow(new CookieJar(), server.issuer, example.href);
    expect(signIn.response.status).toBe(200);
    expect(signIn.url).toMatch(new RegExp(`^${server.issuer}/interaction/`));
  });

  it('a service app\'s page shows the token endpoint with its curl', async () => {
    const dev = await signedInDeveloper();
    const clientId = await ownApplication(dev.id, { name: 'Bot', type: 'service', scope: 'message:send' });
    const page = await (await request(dev.jar, appUrl(clientId))).text();
    expect(attr(page, 'data-token-endpoint')).toBe(`${server.issuer}/token`);
    expect(page).toContain(`${server.issuer}/token</code>`);
    expect(page).not.toContain('data-usage="authorize"');
  });
});

describe('/developers: key status', () => {
  it('warns about a key that expires within 14 days, not about a fresh 90-day key', async () => {
    const dev = await signedInDeveloper();
    const { clientId } = await createService(dev.jar);
    const fresh = await (await request(dev.jar, appUrl(clientId!))).text();
    expect(fresh).toMatch(/data-secret-status="active"/);
    expect(fresh).not.toContain('data-expiring-warning');
    const soon = new Date(Date.now() + 10 * 86_400_000);
    await server.services.stores.durable.applications.updateApplication(clientId!, (application) => ({
      ...application, secrets: application.secrets.map((s) => ({ ...s, expiresAt: soon })),
    }));
    const page = await (await request(dev.jar, appUrl(clientId!))).text();
    expect(page).toMatch(/data-secret-status="expiring"/);
    expect(page).toContain('data-expiring-warning');
    expect(await (await request(dev.jar, `${server.issuer}/developers`)).text()).toContain('data-expiring-warning');
  });
});

describe('/developers in Simplified Chinese', () => {
  it('the list, the new-key page and the application page speak Chinese', async () => {
    const dev = await signedInDeveloper();
    const list = await (await request(dev.jar, `${server.issuer}/developers?ui_locales=zh-CN`)).text();
    expect(list).toContain('<h1>开发者设置</h1>');
    expect(list).toContain('新建应用');
    const created = await createService(dev.jar);
    expect(created.html).toContain('请立即复制 API 密钥：它不会再次显示。');
    const reloaded = await (await request(dev.jar, appUrl(created.clientId!, '/new-key'))).text();
    expect(reloaded).not.toContain('data-client-secret');
    expect(reloaded).toContain('此应用的 API 密钥只在创建或轮换后显示一次');
    const page = await (await request(dev.jar, appUrl(created.clientId!))).text();
    expect(page).toContain('轮换 API 密钥');
    expect(page).toContain('删除应用');
    // Its key-expiry mails will be in the language the developer used here.
    expect((await server.services.stores.durable.applications.findApplicationByClientId(created.clientId!))!.ownerLocale).toBe('zh-CN');
  });
});
