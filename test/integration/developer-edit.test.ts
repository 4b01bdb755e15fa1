// Issue 10, the rest of the self-service path: a developer edits name and URIs of their application
// on its page (held to the creation rules, owner only), deletes it (client.deleted), and keys made
// on the page live 90 days (config clients.secretLifetimeSeconds).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAccount } from '../../src/accounts/create-account.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { CookieJar, csrfFrom, follow, request } from '../helpers/browserless-login.ts';

const actor = { kind: 'system', id: 'test' } as const;
const PASSWORD = 'developers edit things';
const NINETY_DAYS_MS = 90 * 86_400_000;
let server: TestServer;
beforeAll(async () => { server = await startTestServer(); });
afterAll(() => server.close());

let people = 0;
async function signedInDeveloper() {
  people += 1;
  const email = `editor${people}@example.test`;
  const account = await createAccount(server.services.accountDeps, { email, password: PASSWORD, name: 'Dev', emailVerified: true }, actor);
  const jar = new CookieJar();
  const login = await follow(jar, server.issuer, `${server.issuer}/developers`);
  const posted = await request(jar, `${login.url}/login`, { form: { email, password: PASSWORD, _csrf: csrfFrom(await login.response.text()) } });
  await follow(jar, server.issuer, new URL(posted.headers.get('location')!, server.issuer).href);
  return { id: account.id, jar };
}

const appUrl = (clientId: string, rest = '') => `${server.issuer}/developers/applications/${clientId}${rest}`;
const find = (clientId: string) => server.services.stores.durable.applications.findApplicationByClientId(clientId);
const ledger = async (type: string, clientId: string) =>
  (await server.services.stores.durable.audit.listAuditEvents({ type, limit: 1000 })).filter((e) => e.clientId === clientId);

async function postForm(jar: CookieJar, pageUrl: string, actionUrl: string, form: Record<string, string>) {
  const page = await request(jar, pageUrl);
  return request(jar, actionUrl, { form: { ...form, _csrf: csrfFrom(await page.text()) } });
}

async function createOnPage(jar: CookieJar, form: Record<string, string>) {
  const response = await postForm(jar, `${server.issuer}/developers`, `${server.issuer}/developers/applications`, form);
  expect(response.status).toBe(303);
  const html = await (await request(jar, new URL(response.headers.get('location')!, server.issuer).href)).text();
  return /data-client-id>([^<]+)</.exec(html)![1]!;
}

const webApp = { name: 'Chat web', type: 'web', scope: 'openid', redirect_uris: 'https://chat.example.com/cb',
  post_logout_redirect_uris: 'https://chat.example.com/bye' };

describe('/developers: editing an application', () => {
  it('the create form takes post-logout redirect URIs; the page edits name and URIs, and the ledger says what changed', async () => {
    const dev = await signedInDeveloper();
    const clientId = await createOnPage(dev.jar, webApp);
    expect((await find(clientId))!.postLogoutRedirectUris).toEqual(['https://chat.example.com/bye']);
    const page = await (await request(dev.jar, appUrl(clientId))).text();
    expect(page).toContain('data-form="edit-application"');
    expect(page).toContain('https://chat.example.com/bye</textarea>');

    const saved = await postForm(dev.jar, appUrl(clientId), appUrl(clientId, '/details'), { name: 'Chat web 2',
      redirect_uris: 'https://chat.example.com/cb\r\nhttp://localhost:3000/cb', post_logout_redirect_uris: '' });
    expect(saved.status).toBe(303);
    expect(saved.headers.get('location')).toBe(`/developers/applications/${clientId}?saved=details`);
    expect(await find(clientId)).toMatchObject({ name: 'Chat web 2', redirectUris: ['https://chat.example.com/cb', 'http://localhost:3000/cb'],
      postLogoutRedirectUris: [] });
    expect(await (await request(dev.jar, appUrl(clientId, '?saved=details'))).text()).toContain('Your changes are saved.');

    const [updated, ...more] = await ledger('client.updated', clientId);
    expect(more).toHaveLength(0);
    expect(updated!.actor).toEqual({ kind: 'account', id: dev.id });
    expect(updated!.details).toEqual({
      name: { from: 'Chat web', to: 'Chat web 2' },
      redirectUris: { from: ['https://chat.example.com/cb'], to: ['https://chat.example.com/cb', 'http://localhost:3000/cb'] },
      postLogoutRedirectUris: { from: ['https://chat.example.com/bye'], to: [] },
    });
  });

  it('an invalid URI is shown as an error with what was typed, and nothing changes', async () => {
    const dev = await signedInDeveloper();
    const clientId = await createOnPage(dev.jar, webApp);
    const before = await find(clientId);
    for (const form of [
      { name: 'Renamed', redirect_uris: 'https://chat.example.com/*', post_logout_redirect_uris: '' },
      { name: 'Renamed', redirect_uris: 'https://chat.example.com/cb', post_logout_redirect_uris: 'http://evil.example.com/bye' },
      { name: 'Renamed', redirect_uris: '', post_logout_redirect_uris: '' },
    ]) {
      const refused = await postForm(dev.jar, appUrl(clientId), appUrl(clientId, '/details'), form);
      expect(refused.status).toBe(400);
      const html = await refused.text();
      expect(html).toMatch(/role="alert">(This redirect URI is not allowed|A web or native app needs)/);
      expect(html).toContain('value="Renamed"');
    }
    expect(await find(clientId)).toEqual(before);
    expect(await ledger('client.updated', clientId)).toHaveLength(0);
  });

  it('another person gets 404 and the application is unchanged', async () => {
    const owner = await signedInDeveloper();
    const other = await signedInDeveloper();
    const clientId = await createOnPage(owner.jar, webApp);
    const csrf = csrfFrom(await (await request(other.jar, `${server.issuer}/developers`)).text());
    const refused = await request(other.jar, appUrl(clientId, '/details'),
      { form: { name: 'Mine now', redirect_uris: 'https://other.example.com/cb', _csrf: csrf } });
    expect(refused.status).toBe(404);
    expect((await find(clientId))!.name).toBe('Chat web');
    expect(await ledger('client.updated', clientId)).toHaveLength(0);
  });
});

describe('/developers: deleting', () => {
  it('records client.deleted with the developer as actor, not client.revoked', async () => {
    const dev = await signedInDeveloper();
    const clientId = await createOnPage(dev.jar, { name: 'Bot', type: 'service', scope: 'message:send' });
    const deleted = await postForm(dev.jar, appUrl(clientId), appUrl(clientId, '/delete'), { confirm: 'yes' });
    expect(deleted.status).toBe(303);
    const events = await ledger('client.deleted', clientId);
    expect(events.map((e) => [e.actor, e.subject])).toEqual([[{ kind: 'account', id: dev.id }, dev.id]]);
    expect(await ledger('client.revoked', clientId)).toHaveLength(0);
  });
});

describe('/developers: key lifetime', () => {
  it('a key made on the page (created or rotated) expires in 90 days', async () => {
    const dev = await signedInDeveloper();
    const start = Date.now();
    const clientId = await createOnPage(dev.jar, { name: 'Bot', type: 'service', scope: 'message:send' });
    const rotated = await postForm(dev.jar, appUrl(clientId), appUrl(clientId, '/rotate-secret'), { grace: '0' });
    expect(rotated.status).toBe(303);
    const { secrets } = (await find(clientId))!;
    expect(secrets).toHaveLength(2);
    for (const secret of secrets) {
      const lifetime = secret.expiresAt!.getTime() - secret.createdAt.getTime();
      expect(lifetime).toBe(NINETY_DAYS_MS);
      expect(secret.createdAt.getTime()).toBeGreaterThanOrEqual(start - 1000);
    }
  });
});
