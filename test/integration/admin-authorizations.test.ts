// The Authorizations page of the admin console (issue 11 item 1): the index of grants kept in step
// with consent, re-consent, removal and expiry; filters and pages; revoking one (the app's refresh
// token fails, its access token dies at the example API within 1 s) or all of a filter's results
// (confirmed by count); the auditor reads, only the admin revokes.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import type { RevocationListener } from '../../src/resource-server/revocation-listener.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { pollRevocations, startExampleApi, type ExampleApi } from '../helpers/example-api.ts';
import { CookieJar, csrfFrom, follow, request } from '../helpers/browserless-login.ts';
import { signInToConsole, type ConsoleSession } from '../helpers/console-session.ts';

const REDIRECT_URI = 'http://localhost/callback';
const PASSWORD = 'authorizations under review';
const actor = { kind: 'system', id: 'test' } as const;

let server: TestServer;
let api: ExampleApi;
let listener: RevocationListener;
let web: { clientId: string; secret: string };
let admin: ConsoleSession;
let auditor: ConsoleSession;
let member: ConsoleSession;

beforeAll(async () => {
  server = await startTestServer();
  const deps = server.services.applicationDeps;
  const app = await createApplication(deps, { name: 'Call Log', type: 'web', redirectUris: [REDIRECT_URI],
    scope: 'openid offline_access email calls:read message:send' }, actor);
  web = { clientId: app.application.clientId, secret: app.secret!.clientSecret };
  const rs = await createApplication(deps, { name: 'IM API', type: 'service', scope: 'message:read', isResourceServer: true }, actor);
  listener = await pollRevocations(server, { clientId: rs.application.clientId, secret: rs.secret!.clientSecret });
  api = await startExampleApi(server, { revocations: listener });
  admin = await signInToConsole(server, ['admin']);
  auditor = await signInToConsole(server, ['auditor']);
  member = await signInToConsole(server, ['member']);
}, 120_000);

afterAll(async () => {
  await listener?.close();
  await api?.close();
  await server?.close();
});

const index = () => server.services.stores.durable.authorizations;
const ledger = (type: string, subject: string) =>
  server.services.stores.durable.audit.queryAuditEvents({ type, subject, limit: 100 });

async function newPerson(name: string, roles: string[]) {
  const email = `${name}-${Math.random().toString(36).slice(2, 8)}@example.test`;
  const account = await createAccount(server.services.accountDeps, { email, password: PASSWORD, emailVerified: true, roles }, actor);
  return { email, id: account.id };
}

/** Signs in to the app like a browser (login, consent) and redeems the code. */
async function authorize(jar: CookieJar, email: string, scope: string) {
  const config = await client.discovery(new URL(server.issuer), web.clientId, undefined, client.ClientSecretBasic(web.secret),
    { execute: [client.allowInsecureRequests] });
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT_URI, scope, prompt: 'consent',
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
  let step = await follow(jar, server.issuer, url.href);
  for (let pages = 0; pages < 4 && step.url.startsWith(server.issuer); pages += 1) {
    const html = await step.response.text();
    const action = /<form method="post" action="([^"]+\/(login|consent))"/.exec(html);
    if (!action) throw new Error(`no login or consent form at ${step.url}: ${html.slice(0, 300)}`);
    const form: Record<string, string> = action[2] === 'login' ? { email, password: PASSWORD } : { decision: 'allow' };
    const posted = await request(jar, new URL(action[1]!, server.issuer).href, { form: { ...form, _csrf: csrfFrom(html) } });
    step = await follow(jar, server.issuer, new URL(posted.headers.get('location')!, server.issuer).href);
  }
  const tokens = await client.authorizationCodeGrant(config, new URL(step.url), { pkceCodeVerifier: verifier, idTokenExpected: true });
  return { config, tokens };
}

const page = async (session: ConsoleSession, query = '') => {
  const response = await request(session.jar, `${server.issuer}/admin/authorizations${query}`);
  return { status: response.status, html: await response.text() };
};
const rowsOf = (html: string) => [...html.matchAll(/data-authorization="([^"]+)"/g)].map((m) => m[1]);
const rowOf = (html: string, grantId: string) => html.split(`data-authorization="${grantId}"`)[1]?.split('</tr>')[0] ?? '';
const post = async (session: ConsoleSession, path: string, form: Record<string, string>) => {
  const { html } = await page(session);
  return request(session.jar, `${server.issuer}${path}`, { form: { ...form, _csrf: csrfFrom(html) } });
};
const calls = (token: string) => fetch(`${api.url}/v1/calls`, { headers: { authorization: `Bearer ${token}` } });

/** Milliseconds until the API refuses the token (fails after 3 s). */
async function timeUntilRefused(token: string): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < 3000) {
    if ((await calls(token)).status === 401) return Date.now() - start;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the API still accepts the token 3 s after the revocation');
}

describe('the index follows the grants', () => {
  it('consent adds a row, re-consent updates it (ledger: grant.created, grant.updated with permissions); last use is recorded', async () => {
    const carol = await newPerson('carol', ['support']);
    const jar = new CookieJar();
    const first = await authorize(jar, carol.email, 'openid offline_access calls:read');
    const [row] = await index().listAuthorizations({ accountId: carol.id }, 10);
    expect(row).toMatchObject({ clientId: web.clientId, lastUsedAt: null });
    expect(row!.permissions.sort()).toEqual(['calls:read', 'offline_access', 'openid']);
    expect(await ledger('grant.created', carol.id)).toEqual([expect.objectContaining({ clientId: web.clientId,
      permissions: expect.arrayContaining(['openid', 'offline_access', 'calls:read']), details: { grantId: row!.grantId } })]);

    await authorize(jar, carol.email, 'openid offline_access calls:read message:send');
    expect((await index().findAuthorization(row!.grantId))!.permissions).toContain('message:send');
    expect(await ledger('grant.updated', carol.id)).toEqual([expect.objectContaining({ permissions: ['message:send'] })]);

    await client.refreshTokenGrant(first.config, first.tokens.refresh_token!);
    await server.flushLastUse();
    expect((await index().findAuthorization(row!.grantId))!.lastUsedAt).toBeInstanceOf(Date);
    expect(rowOf((await page(auditor, `?person=${encodeURIComponent(carol.email)}`)).html, row!.grantId)).not.toContain('Not yet');
  });

  it('"Remove access" on /account removes the row; an expired grant is not listed', async () => {
    const erin = await newPerson('erin', ['member']);
    const jar = new CookieJar();
    await authorize(jar, erin.email, 'openid message:send');
    const [row] = await index().listAuthorizations({ accountId: erin.id }, 10);
    expect(row).toBeDefined();
    const account = await (await follow(jar, server.issuer, `${server.issuer}/account`)).response.text();
    const action = /action="(\/account\/apps\/[^"]+\/revoke)"/.exec(account.split(`data-connected-app="${web.clientId}"`)[1] ?? '')![1]!;
    expect((await request(jar, `${server.issuer}${action}`, { form: { _csrf: csrfFrom(account) } })).status).toBe(303);
    expect(await index().listAuthorizations({ accountId: erin.id }, 10)).toEqual([]);

    await index().saveAuthorization({ grantId: 'expired-grant', accountId: erin.id, clientId: web.clientId, permissions: ['openid'],
      createdAt: new Date(Date.now() - 7_200_000), expiresAt: new Date(Date.now() - 1000) });
    expect(rowsOf((await page(admin, `?person=${encodeURIComponent(erin.email)}`)).html)).toEqual([]);
  });
});

describe('filters and pages', () => {
  it('"who can read call records?": rows holding calls:read, the ones the person cannot obtain today marked', async () => {
    const frank = await newPerson('frank', ['support']);
    const jar = new CookieJar();
    await authorize(jar, frank.email, 'openid calls:read');
    const [row] = await index().listAuthorizations({ accountId: frank.id }, 10);
    let { status, html } = await page(auditor, '?permission=calls:read');
    expect(status).toBe(200);
    expect(rowsOf(html)).toContain(row!.grantId);
    expect(rowOf(html, row!.grantId)).toContain(`href="/admin/users/${frank.id}"`);
    expect(rowOf(html, row!.grantId)).toContain('See your voice and video call records');
    expect(rowOf(html, row!.grantId)).not.toContain('data-not-obtainable');
    // The role that allowed it is taken away: the grant still holds it, no token would carry it.
    await server.services.stores.durable.accounts.updateAccountRolesById(frank.id, ['member'], new Date());
    ({ html } = await page(auditor, '?q=calls:read'));
    expect(rowOf(html, row!.grantId)).toMatch(/data-scope="calls:read" data-not-obtainable/);
    expect(rowsOf((await page(auditor, '?permission=message:send')).html)).not.toContain(row!.grantId);
  });

  it('by person and by application, combined, newest first, 50 to a page with a link to the next', async () => {
    const gina = await newPerson('gina', ['member']);
    const at = Date.now() - 3_600_000;
    for (let i = 0; i < 53; i += 1) {
      await index().saveAuthorization({ grantId: `bulk-${String(i).padStart(2, '0')}`, accountId: gina.id, clientId: 'bulk-app',
        permissions: ['openid', i % 2 ? 'calls:read' : 'message:read'], createdAt: new Date(at + i * 1000), expiresAt: null });
    }
    const first = await page(admin, '?client=bulk-app');
    expect(rowsOf(first.html)).toHaveLength(50);
    expect(rowsOf(first.html)[0]).toBe('bulk-52');
    expect(first.html).toContain('data-total="53"');
    const next = /href="([^"]+)" data-action="next-page"/.exec(first.html)![1]!.replaceAll('&amp;', '&');
    expect(rowsOf((await page(admin, next)).html)).toEqual(['bulk-02', 'bulk-01', 'bulk-00']);
    const both = await page(admin, `?person=${encodeURIComponent(gina.email)}&client=bulk-app&permission=calls:read`);
    expect(rowsOf(both.html)).toHaveLength(26);
    expect(rowsOf((await page(admin, '?person=nobody%40example.test')).html)).toEqual([]);
  });
});

describe('revoking', () => {
  it('one: the refresh token fails and the access token is refused by the API within 1 s; grant.revoked by the admin', async () => {
    const hana = await newPerson('hana', ['support']);
    const { config, tokens } = await authorize(new CookieJar(), hana.email, 'openid offline_access calls:read');
    expect((await calls(tokens.access_token)).status).toBe(200);
    const [row] = await index().listAuthorizations({ accountId: hana.id }, 10);
    const response = await post(admin, `/admin/authorizations/${row!.grantId}/revoke`, { permission: 'calls:read' });
    expect([response.status, response.headers.get('location')]).toEqual([303, '/admin/authorizations?permission=calls%3Aread&saved=revoked']);
    expect(await timeUntilRefused(tokens.access_token)).toBeLessThan(1000);
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await index().findAuthorization(row!.grantId)).toBeUndefined();
    expect(await ledger('grant.revoked', hana.id)).toEqual([expect.objectContaining({
      actor: { kind: 'account', id: admin.account.id }, clientId: web.clientId,
      permissions: expect.arrayContaining(['calls:read', 'offline_access']), details: { grantId: row!.grantId } })]);
    expect((await post(admin, `/admin/authorizations/${row!.grantId}/revoke`, {})).status).toBe(404);
  });

  it('all of a filter\'s results: a confirmation naming how many, re-confirmed when the number changed', async () => {
    const ivan = await newPerson('ivan', ['member']);
    const seed = (i: number) => index().saveAuthorization({ grantId: `all-${i}`, accountId: ivan.id, clientId: 'revoke-all-app',
      permissions: ['openid'], createdAt: new Date(Date.now() - 60_000 + i), expiresAt: null });
    for (let i = 0; i < 3; i += 1) await seed(i);
    const confirmation = await post(admin, '/admin/authorizations/revoke', { client: 'revoke-all-app' });
    expect(confirmation.status).toBe(200);
    expect(await confirmation.text()).toContain('data-confirm-count="3"');

    await seed(3);
    const changed = await post(admin, '/admin/authorizations/revoke', { client: 'revoke-all-app', count: '3' });
    expect(changed.status).toBe(409);
    expect(await changed.text()).toContain('data-confirm-count="4"');
    expect(await index().countAuthorizations({ clientId: 'revoke-all-app' })).toBe(4);

    const done = await post(admin, '/admin/authorizations/revoke', { client: 'revoke-all-app', count: '4' });
    expect([done.status, done.headers.get('location')]).toEqual([303, '/admin/authorizations?client=revoke-all-app&saved=revoked_all&revoked=4']);
    expect(await index().countAuthorizations({ clientId: 'revoke-all-app' })).toBe(0);
    expect(await ledger('grant.revoked', ivan.id)).toHaveLength(4);
  });

  it('with no filter at all: refused unless "every authorization" is ticked', async () => {
    const total = await index().countAuthorizations({});
    const confirmation = await post(admin, '/admin/authorizations/revoke', {});
    expect(await confirmation.text()).toContain('name="everything"');
    const refused = await post(admin, '/admin/authorizations/revoke', { count: String(total) });
    expect(refused.status).toBe(400);
    expect(await index().countAuthorizations({})).toBe(total);
  });
});

describe('who may', () => {
  it('the auditor reads the page but gets 403 on revoking; a member gets 403 everywhere', async () => {
    const [row] = await index().listAuthorizations({}, 1);
    expect((await page(auditor)).status).toBe(200);
    expect((await page(auditor)).html).not.toContain('data-action="revoke-authorization"');
    for (const path of [`/admin/authorizations/${row!.grantId}/revoke`, '/admin/authorizations/revoke']) {
      // The auditor's pages have no POST form: a valid token from their account page, so that only the role refuses.
      const html = await (await request(auditor.jar, `${server.issuer}/account`)).text();
      const refused = await request(auditor.jar, `${server.issuer}${path}`, { form: { _csrf: csrfFrom(html), count: '1', client: row!.clientId } });
      expect(refused.status).toBe(403);
    }
    expect((await page(member)).status).toBe(403);
    const memberPost = await request(member.jar, `${server.issuer}/admin/authorizations/revoke`, { form: { client: row!.clientId } });
    expect(memberPost.status).toBe(403);
    expect(await index().findAuthorization(row!.grantId)).toBeDefined();
  });
});
