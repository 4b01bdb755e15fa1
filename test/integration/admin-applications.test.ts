// The Applications area of the admin console (issue 11 item 1, "Applications"), over HTTP against a
// real server: the list (owner, type, permissions, key status, last use, state) with search, the
// "waiting for approval" filter and keyset pages served by indexes; disable / enable and what each
// does to the token endpoint, authorization requests, refresh tokens and the example API; approving,
// refusing and changing permissions; and that nobody but an admin may use any of it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { createDeveloperApplication } from '../../src/applications/create-developer-application.ts';
import { CONSOLE_PAGE_SIZE as APPLICATIONS_PAGE_SIZE } from '../../src/shared/console-page.ts';
import { applicationSearchStatement } from '../../src/storage/sqlite/sqlite-applications.ts';
import { createRevocationListener, type RevocationListener } from '../../src/resource-server/revocation-listener.ts';
import type { AuditEventRecord } from '../../src/storage/contract.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { startExampleApi, type ExampleApi } from '../helpers/example-api.ts';
import { CookieJar, csrfFrom, follow, request, signInAndConsent, signInPageUrl } from '../helpers/browserless-login.ts';
import { signInToConsole, type ConsoleSession } from '../helpers/console-session.ts';
import { authorizationRequest } from '../helpers/relying-party.ts';

const system = { kind: 'system', id: 'test' } as const;
const REDIRECT_URI = 'http://localhost/callback';
const PASSWORD = 'a developer password of some length';
let server: TestServer;
let admin: ConsoleSession;
let api: ExampleApi;
let listener: RevocationListener;

beforeAll(async () => {
  server = await startTestServer();
  admin = await signInToConsole(server, ['admin']);
  const rs = await createApplication(server.services.applicationDeps,
    { name: 'IM API', type: 'service', scope: 'message:read', isResourceServer: true }, system);
  listener = createRevocationListener({ poll: { url: `${server.issuer}/revocations`, clientId: rs.application.clientId,
    clientSecret: rs.secret!.clientSecret } });
  await listener.ready;
  api = await startExampleApi(server, { revocations: listener });
});
afterAll(async () => {
  await listener?.close();
  await api?.close();
  await server?.close();
});

const deps = () => server.services.applicationDeps;
const stores = () => server.services.stores.durable;
const adminActor = () => ({ kind: 'account', id: admin.account.id });
let made = 0;
async function newAccount(roles: string[] = ['member']) {
  made += 1;
  return createAccount(server.services.accountDeps, { email: `dev${made}@apps.test`, password: PASSWORD, name: `Dev ${made}`,
    roles, emailVerified: true }, system);
}
const service = async (name: string, scope = 'message:send', secretExpiresInSeconds?: number) => {
  const created = await createApplication(deps(), { name, type: 'service', scope, secretExpiresInSeconds }, system);
  return { clientId: created.application.clientId, secret: created.secret!.clientSecret };
};
const page = async (jar: CookieJar, path: string) => {
  const response = await request(jar, `${server.issuer}${path}`);
  return { status: response.status, location: response.headers.get('location'), html: await response.text() };
};
/** Posts an action of /admin/applications/:clientId with a CSRF token taken from its page. */
async function act(clientId: string, action: string, form: Record<string, string | string[]> = {}) {
  const { html } = await page(admin.jar, `/admin/applications/${clientId}`);
  const body = new URLSearchParams({ _csrf: csrfFrom(html) });
  for (const [name, value] of Object.entries(form)) for (const v of [value].flat()) body.append(name, v);
  const response = await fetch(`${server.issuer}/admin/applications/${clientId}/${action}`, { method: 'POST', redirect: 'manual',
    headers: { cookie: admin.jar.header(), 'content-type': 'application/x-www-form-urlencoded' }, body: body.toString() });
  admin.jar.store(response);
  return { status: response.status, location: response.headers.get('location'), html: await response.text() };
}
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
async function clientCredentials(app: { clientId: string; secret: string }, scope = 'message:send') {
  const response = await fetch(`${server.issuer}/token`, { method: 'POST',
    headers: { authorization: basic(app.clientId, app.secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }).toString() });
  return { status: response.status, body: await response.json() as Record<string, string> };
}
const sendMessage = (token: string) => fetch(`${api.url}/v1/messages`, { method: 'POST',
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"text":"hi"}' });
const readCalls = (token: string) => fetch(`${api.url}/v1/calls`, { headers: { authorization: `Bearer ${token}` } });
/** Polls until `check` holds, for at most `ms`: "dies at the API within 1 s". */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - start;
}
const ledger = async (clientId: string, type: string): Promise<AuditEventRecord[]> =>
  stores().audit.queryAuditEvents({ clientId, type, limit: 100 });
const rowOf = (html: string, clientId: string) => new RegExp(`<tr data-application="${clientId}">([\\s\\S]*?)</tr>`).exec(html)?.[1] ?? '';
const listed = (html: string) => [...html.matchAll(/<tr data-application="([^"]+)">/g)].map((m) => m[1]!);

describe('GET /admin/applications: every application, with what an administrator reviews', () => {
  it('shows owner, type, permissions (pending marked), key status, last use and state; in both languages', async () => {
    const developer = await newAccount(['support']);
    const owned = await createDeveloperApplication(deps(), developer,
      { name: 'Support Desk', type: 'service', scope: 'message:send calls:read' });
    const day = 86_400;
    const expiring = await service('Expiring Bot', 'message:send', 3 * day);
    const expired = await service('Expired Bot', 'message:send', 1);
    const native = await createApplication(deps(), { name: 'Chat Mobile', type: 'native', redirectUris: ['com.example.chat:/cb'] }, system);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the 1 s key has ended

    const html = (await page(admin.jar, '/admin/applications')).html;
    const ownedRow = rowOf(html, owned.application.clientId);
    expect(ownedRow).toContain(`data-owner>${developer.email}<`);
    expect(ownedRow).toContain('Service');
    expect(ownedRow).toContain('data-scope="message:send"');
    expect(ownedRow).toMatch(/data-scope="calls:read" data-pending-approval/);
    expect(ownedRow).toContain('data-key-status="active"');
    expect(ownedRow).toContain('data-state="enabled"');
    expect(rowOf(html, expiring.clientId)).toContain('data-key-status="expiring"');
    expect(rowOf(html, expiring.clientId)).toContain('None (created by an operator)');
    expect(rowOf(html, expired.clientId)).toContain('data-key-status="expired"');
    expect(rowOf(html, native.application.clientId)).toContain('data-key-status="none"');
    expect(rowOf(html, native.application.clientId)).toContain('Native app');
    const zh = (await page(admin.jar, '/admin/applications?ui_locales=zh-CN')).html;
    expect(rowOf(zh, expiring.clientId)).toContain('即将过期');
    expect(zh).toContain('仅显示等待审批的应用');
    await page(admin.jar, '/admin/applications?ui_locales=en'); // back to English for the cases below
  });

  it('reports the last use of a key, as the use tracker recorded it', async () => {
    const used = await service('Tracked Bot');
    const unused = await service('Idle Bot');
    const stored = await stores().applications.findApplicationByClientId(used.clientId);
    await stores().applications.recordSecretUse(used.clientId, stored!.secrets[0]!.id, new Date('2026-03-04T05:06:00Z'));
    const html = (await page(admin.jar, '/admin/applications')).html;
    expect(rowOf(html, used.clientId)).toMatch(/Mar 4, 2026, 5:06\sAM UTC/);
    expect(rowOf(html, unused.clientId)).toContain('Not used yet');
  });

  it('pages by client id (keyset): every application once, in order, with a next link until the last page', async () => {
    for (let i = 0; i < APPLICATIONS_PAGE_SIZE + 3; i += 1) await service(`Paged Bot ${i}`);
    const seen: string[] = [];
    let path: string | undefined = '/admin/applications';
    let pages = 0;
    while (path) {
      const { html, status } = await page(admin.jar, path);
      expect(status).toBe(200);
      const ids = listed(html);
      expect(ids.length).toBeLessThanOrEqual(APPLICATIONS_PAGE_SIZE);
      seen.push(...ids);
      path = /href="([^"]+)" rel="next"/.exec(html)?.[1]?.replaceAll('&amp;', '&');
      pages += 1;
    }
    expect(pages).toBeGreaterThanOrEqual(2);
    const all = await stores().applications.listApplications(10_000);
    expect(seen).toEqual(all.map((a) => a.clientId).sort());
  });

  it('searches by client id prefix, by name prefix (any case), by an owner\'s email, and filters those waiting for approval', async () => {
    const developer = await newAccount(['support']);
    const waiting = await createDeveloperApplication(deps(), developer, { name: 'Zebra Calls', type: 'service', scope: 'calls:read' });
    const plain = await createDeveloperApplication(deps(), developer, { name: 'zebra sender', type: 'service', scope: 'message:send' });
    const other = await service('Yak Bot');
    const ids = [waiting.application.clientId, plain.application.clientId].sort();

    expect(listed((await page(admin.jar, '/admin/applications?q=zEbRa')).html)).toEqual(ids);
    expect(listed((await page(admin.jar, `/admin/applications?q=${encodeURIComponent(developer.email.toUpperCase())}`)).html)).toEqual(ids);
    expect(listed((await page(admin.jar, `/admin/applications?q=${other.clientId.slice(0, 12)}`)).html)).toContain(other.clientId);
    expect(listed((await page(admin.jar, `/admin/applications?q=${other.clientId}`)).html)).toEqual([other.clientId]);
    expect(listed((await page(admin.jar, '/admin/applications?q=nobody%40apps.test')).html)).toEqual([]);
    const pending = listed((await page(admin.jar, '/admin/applications?pending=1')).html);
    expect(pending).toContain(waiting.application.clientId);
    expect(pending).not.toContain(plain.application.clientId);
    expect(listed((await page(admin.jar, '/admin/applications?q=zebra&pending=1')).html)).toEqual([waiting.application.clientId]);
  });

  it('each kind of query is an index range (the index named): no scan of the applications table', () => {
    const db = server.services.stores.sqlite!;
    const cases: [Record<string, unknown>, string[]][] = [
      [{}, ['sqlite_autoindex_applications_1 (client_id>?)']],
      [{ prefix: 'tkm_a' }, ['sqlite_autoindex_applications_1 (client_id>? AND client_id<?)', 'applications_name_key (name_key>? AND name_key<?)']],
      [{ ownerId: 'x' }, ['applications_owner (owner_id=? AND client_id>?)']],
      [{ isPendingApproval: true }, ['applications_pending (client_id>?)']],
      [{ prefix: 'z', isPendingApproval: true }, ['applications_name_key (name_key>? AND name_key<?)']],
      [{ ownerId: 'x', isPendingApproval: true }, ['applications_owner (owner_id=? AND client_id>?)']],
    ];
    for (const [query, indexes] of cases) {
      const { sql, params } = applicationSearchStatement({ ...query, afterClientId: 'tkm_', limit: 51 });
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((row) => row.detail);
      expect([query, plan.filter((step) => /^SCAN/.test(step))]).toEqual([query, []]);
      for (const index of indexes) expect([query, plan.join(' | ')]).toEqual([query, expect.stringContaining(index)]);
    }
  });
});

describe('POST /admin/applications/:clientId/disable and /enable', () => {
  it('a service: invalid_client at the token endpoint, its access token dies at the API within 1 s; enabled, it works again', async () => {
    const bot = await service('Switch Bot');
    const before = await clientCredentials(bot);
    expect(before.status).toBe(200);
    expect((await sendMessage(before.body.access_token!)).status).toBe(201);

    const done = await act(bot.clientId, 'disable');
    expect([done.status, done.location]).toEqual([303, `/admin/applications/${bot.clientId}?saved=disabled`]);
    const refused = await clientCredentials(bot);
    expect(refused).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(refused.body.error_description).toContain('disabled');
    await within(1000, async () => (await sendMessage(before.body.access_token!)).status === 401);
    expect(await ledger(bot.clientId, 'client.disabled')).toEqual([expect.objectContaining({
      actor: adminActor(), permissions: ['message:send'] })]);
    const shown = await page(admin.jar, done.location!);
    expect(shown.html).toContain('The application is disabled.');
    expect(shown.html).toContain('data-state="disabled"');
    expect(rowOf((await page(admin.jar, `/admin/applications?q=${bot.clientId}`)).html, bot.clientId)).toContain('data-state="disabled"');

    const enabled = await act(bot.clientId, 'enable');
    expect(enabled.location).toBe(`/admin/applications/${bot.clientId}?saved=enabled`);
    const after = await clientCredentials(bot);
    expect(after.status).toBe(200);
    expect((await sendMessage(after.body.access_token!)).status).toBe(201);
    expect((await sendMessage(before.body.access_token!)).status).toBe(401); // revoked while off: stays revoked
    expect(await ledger(bot.clientId, 'client.enabled')).toEqual([expect.objectContaining({ actor: adminActor(),
      permissions: ['message:send'] })]);
    // A second "enable" changes nothing and records nothing.
    expect((await act(bot.clientId, 'enable')).status).toBe(303);
    expect(await ledger(bot.clientId, 'client.enabled')).toHaveLength(1);
  });

  it('a web app: its refresh token and its authorization requests get invalid_client while disabled, and work once enabled', async () => {
    const created = await createApplication(deps(), { name: 'Switch Web', type: 'web', redirectUris: [REDIRECT_URI] }, system);
    const web = { clientId: created.application.clientId, secret: created.secret!.clientSecret };
    const person = await newAccount();
    const authorization = await authorizationRequest(server.issuer, web, REDIRECT_URI,
      { scope: 'openid offline_access message:send', prompt: 'consent' });
    const tokens = await authorization.redeem(
      await signInAndConsent(server.issuer, authorization.url.href, { email: person.email, password: PASSWORD }));
    expect(tokens.refresh_token).toBeDefined();

    await act(web.clientId, 'disable');
    const refused = await fetch(`${server.issuer}/token`, { method: 'POST',
      headers: { authorization: basic(web.clientId, web.secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }).toString() });
    expect([refused.status, ((await refused.json()) as { error: string }).error]).toEqual([401, 'invalid_client']);
    const signIn = await follow(new CookieJar(), server.issuer, signInPageUrl(server.issuer, web.clientId, {}, REDIRECT_URI));
    expect(signIn.response.status).toBe(400);
    expect(await signIn.response.text()).toContain('it has been disabled');
    await within(1000, async () => (await sendMessage(tokens.access_token)).status === 401);

    await act(web.clientId, 'enable');
    const refreshed = await client.refreshTokenGrant(authorization.config, tokens.refresh_token!);
    expect((await sendMessage(refreshed.access_token)).status).toBe(201);
    expect((await follow(new CookieJar(), server.issuer, signInPageUrl(server.issuer, web.clientId, {}, REDIRECT_URI))).response.status)
      .toBe(200);
  });
});

describe('POST /admin/applications/:clientId/approve and /refuse', () => {
  it('approving moves pending permissions into the allow-list; the next token carries them', async () => {
    const developer = await newAccount(['support']);
    const { application, secret } = await createDeveloperApplication(deps(), developer,
      { name: 'Call Reviewer', type: 'service', scope: 'message:send calls:read' });
    const app = { clientId: application.clientId, secret: secret!.clientSecret };
    expect(await clientCredentials(app, 'calls:read')).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });

    const done = await act(app.clientId, 'approve', { scope: 'calls:read' });
    expect([done.status, done.location]).toEqual([303, `/admin/applications/${app.clientId}?saved=approved`]);
    expect(await stores().applications.findApplicationByClientId(app.clientId))
      .toMatchObject({ scope: 'message:send calls:read', pendingScope: '' });
    const token = await clientCredentials(app, 'calls:read');
    expect(token.body.scope).toBe('calls:read');
    expect((await readCalls(token.body.access_token!)).status).toBe(200);
    expect(await ledger(app.clientId, 'client.scopes_approved')).toEqual([expect.objectContaining({
      actor: adminActor(), subject: developer.id, permissions: ['calls:read'] })]);
    // Nothing is waiting any more: a second approval is refused with a message, and changes nothing.
    const again = await act(app.clientId, 'approve', { scope: 'calls:read' });
    expect(again.status).toBe(409);
    expect(again.html).toContain('calls:read is not waiting for approval');
  });

  it('refusing removes them from the pending list; no token carries them, and the developer sees the refusal', async () => {
    const developer = await newAccount(['support']);
    const { application, secret } = await createDeveloperApplication(deps(), developer,
      { name: 'Call Snooper', type: 'service', scope: 'message:send calls:read' });
    const app = { clientId: application.clientId, secret: secret!.clientSecret };
    const form = await page(admin.jar, `/admin/applications/${app.clientId}`);
    expect(form.html).toContain('data-action="refuse-permissions"');

    const done = await act(app.clientId, 'refuse', { scope: 'calls:read' });
    expect([done.status, done.location]).toEqual([303, `/admin/applications/${app.clientId}?saved=refused`]);
    expect(await stores().applications.findApplicationByClientId(app.clientId))
      .toMatchObject({ scope: 'message:send', pendingScope: '', refusedScope: 'calls:read' });
    expect(await clientCredentials(app, 'calls:read')).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
    expect(await ledger(app.clientId, 'client.scopes_refused')).toEqual([expect.objectContaining({
      actor: adminActor(), subject: developer.id, permissions: ['calls:read'] })]);
    expect(listed((await page(admin.jar, '/admin/applications?pending=1')).html)).not.toContain(app.clientId);

    // The developer's own page says so.
    const jar = new CookieJar();
    const login = await follow(jar, server.issuer, `${server.issuer}/developers`);
    const posted = await request(jar, `${login.url}/login`,
      { form: { email: developer.email, password: PASSWORD, _csrf: csrfFrom(await login.response.text()) } });
    await follow(jar, server.issuer, new URL(posted.headers.get('location')!, server.issuer).href);
    const mine = await (await request(jar, `${server.issuer}/developers/applications/${app.clientId}`)).text();
    expect(mine).toContain('data-refused-permissions');
    expect(mine).toContain('An administrator refused: calls:read.');
  });
});

describe('POST /admin/applications/:clientId/scope', () => {
  it('an admin may give any catalog permission; one taken away makes the tokens carrying it die at the API', async () => {
    const bot = await service('Scoped Bot', 'message:send calls:read');
    const token = await clientCredentials(bot, 'message:send calls:read');
    expect((await readCalls(token.body.access_token!)).status).toBe(200);

    const added = await act(bot.clientId, 'scope', { scope: ['message:send', 'calls:read', 'audit:read'] });
    expect([added.status, added.location]).toEqual([303, `/admin/applications/${bot.clientId}?saved=scope`]);
    expect((await clientCredentials(bot, 'audit:read')).body.scope).toBe('audit:read');
    expect((await readCalls(token.body.access_token!)).status).toBe(200); // nothing taken away: tokens live on

    await act(bot.clientId, 'scope', { scope: ['message:send'] });
    await within(1000, async () => (await readCalls(token.body.access_token!)).status === 401);
    expect(await clientCredentials(bot, 'calls:read')).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
    const changes = await ledger(bot.clientId, 'client.scopes_changed');
    expect(changes.map((e) => [e.actor, e.permissions])).toEqual([
      [adminActor(), ['calls:read', 'audit:read']], [adminActor(), ['audit:read']]]);
    // A service has no signed-in person: OIDC scopes are refused with a message.
    const oidc = await act(bot.clientId, 'scope', { scope: ['openid'] });
    expect(oidc.status).toBe(400);
    expect(oidc.html).toContain('class="error"');
  });
});

describe('who may use /admin/applications', () => {
  it('a member and an auditor get 403 on every route, and nothing changes', async () => {
    const developer = await newAccount(['support']);
    const { application } = await createDeveloperApplication(deps(), developer,
      { name: 'Guarded', type: 'service', scope: 'message:send calls:read' });
    const id = application.clientId;
    const routes: [string, string][] = [['GET', '/admin/applications'], ['GET', '/admin/applications?q=tkm_&pending=1'],
      ['GET', `/admin/applications/${id}`],
      ...['disable', 'enable', 'approve', 'refuse', 'scope'].map((a): [string, string] => ['POST', `/admin/applications/${id}/${a}`])];
    for (const roles of [['member'], ['auditor']]) {
      const session = await signInToConsole(server, roles);
      const csrf = csrfFrom((await page(session.jar, '/account')).html);
      for (const [method, path] of routes) {
        const response = await request(session.jar, `${server.issuer}${path}`,
          method === 'POST' ? { form: { _csrf: csrf, scope: 'calls:read' } } : {});
        expect([roles[0], method, path, response.status]).toEqual([roles[0], method, path, 403]);
      }
    }
    expect(await stores().applications.findApplicationByClientId(id))
      .toMatchObject({ scope: 'message:send', pendingScope: 'calls:read', disabledAt: null, refusedScope: '' });
  });
});
