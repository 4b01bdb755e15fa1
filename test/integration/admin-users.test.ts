// The Users area of the admin console (issue 11 item 1, "User management", and item 5's safety
// points about users), over HTTP against a real server: search and keyset pages, each action's
// effect on sign-in, tokens and the ledger, the last-admin guard, and who may open what.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { ACCOUNT_PAGE_SQL, ACCOUNT_SEARCH_SQL } from '../../src/storage/sqlite/sqlite-accounts.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { CookieJar, csrfFrom, follow, openLoginForm, request, signInAndConsent, signInPageUrl } from '../helpers/browserless-login.ts';
import { enrolTotp, signInToConsole, signInWithTotp, type ConsoleSession } from '../helpers/console-session.ts';
import { authorizationRequest } from '../helpers/relying-party.ts';
import { lastMailTo, readOutbox } from '../helpers/outbox.ts';

const system = { kind: 'system', id: 'test' } as const;
const REDIRECT_URI = 'http://localhost/callback';
const PASSWORD = 'a member password of some length';
let server: TestServer;
let admin: ConsoleSession;
let web: { clientId: string; secret: string };

beforeAll(async () => {
  server = await startTestServer();
  admin = await signInToConsole(server, ['admin']);
  const created = await createApplication(server.services.applicationDeps, { name: 'Chat Web', type: 'web', redirectUris: [REDIRECT_URI] },
    system);
  web = { clientId: created.application.clientId, secret: created.secret!.clientSecret };
});
afterAll(() => server.close());

const stores = () => server.services.stores.durable;
let made = 0;
async function newAccount(input: { email?: string; name?: string; roles?: string[]; emailVerified?: boolean } = {}) {
  made += 1;
  return createAccount(server.services.accountDeps, { email: input.email ?? `user${made}@members.test`, password: PASSWORD,
    name: input.name ?? `Member ${made}`, roles: input.roles, emailVerified: input.emailVerified ?? true }, system);
}
const page = async (jar: CookieJar, path: string) => {
  const response = await request(jar, `${server.issuer}${path}`);
  return { status: response.status, location: response.headers.get('location'), html: await response.text() };
};
/** Posts an action of /admin/users/:id with a CSRF token taken from the user's page. */
async function act(session: { jar: CookieJar }, accountId: string, action: string, form: Record<string, string | string[]> = {}) {
  const { html } = await page(session.jar, `/admin/users/${accountId}`);
  const body = new URLSearchParams({ _csrf: csrfFrom(html) });
  for (const [name, value] of Object.entries(form)) for (const v of [value].flat()) body.append(name, v);
  const response = await fetch(`${server.issuer}/admin/users/${accountId}/${action}`, { method: 'POST', redirect: 'manual',
    headers: { cookie: session.jar.header(), 'content-type': 'application/x-www-form-urlencoded' }, body: body.toString() });
  session.jar.store(response);
  return { status: response.status, location: response.headers.get('location'), html: await response.text() };
}
const eventsAbout = async (subject: string) => stores().audit.listAuditEvents({ subject, limit: 1000 });
const rowOf = (html: string, id: string) => new RegExp(`<tr data-user="${id}">([\\s\\S]*?)</tr>`).exec(html)?.[1] ?? '';

describe('the console session', () => {
  it('an admin signed in with two factors is sent from /admin to /admin/users, which opens', async () => {
    expect(await page(admin.jar, '/admin')).toMatchObject({ status: 302, location: '/admin/users' });
    const users = await page(admin.jar, '/admin/users');
    expect(users.status).toBe(200);
    expect(users.html).toContain(admin.email);
  });
});

describe('GET /admin/users: search by email or name prefix, keyset pages', () => {
  it('pages through every match 50 at a time, in email order, with a cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 55; i += 1) ids.push((await newAccount({ email: `paged-${String(i).padStart(2, '0')}@paging.test` })).id);
    const first = await page(admin.jar, '/admin/users?q=PAGED-');
    expect(first.status).toBe(200);
    const emails = (html: string) => [...html.matchAll(/data-user-email>([^<]+)</g)].map((m) => m[1]);
    expect(emails(first.html)).toEqual(Array.from({ length: 50 }, (_, i) => `paged-${String(i).padStart(2, '0')}@paging.test`));
    const next = /href="([^"]+)" rel="next"/.exec(first.html)?.[1]?.replaceAll('&amp;', '&');
    expect(next).toMatch(/^\/admin\/users\?q=PAGED-&after=/);
    const second = await page(admin.jar, next!);
    expect(emails(second.html)).toEqual(['50', '51', '52', '53', '54'].map((n) => `paged-${n}@paging.test`));
    expect(second.html).not.toContain('rel="next"');
  });

  it('finds names by prefix whatever their case (also beyond ASCII), and shows each row\'s state', async () => {
    const zoe = await newAccount({ email: 'z.lin@names.test', name: 'ZOË Lin', emailVerified: false });
    const other = await newAccount({ email: 'zoe-not@names.test', name: 'Someone Else' });
    await enrolTotp(server, other.id);
    await stores().accounts.updateAccountById(other.id, { disabled: true, updatedAt: new Date() });
    const byName = await page(admin.jar, '/admin/users?q=zo%C3%AB');
    expect(byName.html).toContain('z.lin@names.test');
    expect(byName.html).not.toContain('zoe-not@names.test'); // "zoe" ≠ "zoë"
    expect(rowOf(byName.html, zoe.id)).toMatch(/data-two-factor="off"[\s\S]*data-status="active"[\s\S]*data-email-confirmed="no"/);
    expect(rowOf(byName.html, zoe.id)).toContain('Member');
    const byEmail = await page(admin.jar, '/admin/users?q=ZOE-');
    expect(rowOf(byEmail.html, other.id)).toMatch(/data-two-factor="on"[\s\S]*data-status="disabled"[\s\S]*data-email-confirmed="yes"/);
    expect(byEmail.html).not.toContain('z.lin@names.test');
    expect((await page(admin.jar, '/admin/users?q=nobody-has-this')).html).toContain('data-no-users');
  });

  it('each page view is an index range on SQLite, never a scan of the accounts table', () => {
    const db = server.services.stores.sqlite!;
    for (const sql of [ACCOUNT_PAGE_SQL, ACCOUNT_SEARCH_SQL]) {
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((row) => row.detail);
      expect(plan.some((detail) => /^SCAN accounts\b(?! USING)/.test(detail))).toBe(false);
      expect(plan.join('\n')).toMatch(/USING (COVERING )?INDEX/);
    }
    const search = (db.prepare(`EXPLAIN QUERY PLAN ${ACCOUNT_SEARCH_SQL}`).all() as { detail: string }[]).map((row) => row.detail).join('\n');
    expect(search).toContain('accounts_name_key');
  });
});

describe('GET /admin/users/:id', () => {
  it('shows roles with the permissions they bring in words, two-factor, sessions and connected apps, in both languages', async () => {
    const person = await newAccount({ roles: ['support'] });
    const jar = new CookieJar();
    const request = await authorizationRequest(server.issuer, web, REDIRECT_URI, { scope: 'openid message:send' });
    await request.redeem(await signInAndConsent(server.issuer, request.url.href, { email: person.email, password: PASSWORD }, 'allow', jar));
    const en = await page(admin.jar, `/admin/users/${person.id}`);
    expect(en.status).toBe(200);
    expect(en.html).toMatch(/data-role="support"[\s\S]*See your voice and video call records/);
    expect(en.html).toContain('data-two-factor="off"');
    expect(en.html).toContain('data-sessions="1"');
    expect(en.html).toContain(`data-connected-app="${web.clientId}"`);
    expect(en.html).toMatch(/name="roles" value="admin"/);
    const zh = await page(admin.jar, `/admin/users/${person.id}?ui_locales=zh-CN`);
    expect(zh.html).toContain('客服');
    expect(zh.html).toContain('停用账号');
    await page(admin.jar, `/admin/users/${person.id}?ui_locales=en`); // the choice sticks: back to English for the other tests
    expect((await page(admin.jar, '/admin/users/no-such-account')).status).toBe(404);
  });
});

describe('POST /admin/users/:id/disable and /activate', () => {
  it('ends sessions, revokes grants and refresh tokens, publishes the subject revocation; sign-in is refused with a message', async () => {
    const person = await newAccount();
    const jar = new CookieJar();
    const authorization = await authorizationRequest(server.issuer, web, REDIRECT_URI,
      { scope: 'openid offline_access message:send', prompt: 'consent' });
    const tokens = await authorization.redeem(
      await signInAndConsent(server.issuer, authorization.url.href, { email: person.email, password: PASSWORD }, 'allow', jar));
    expect(tokens.refresh_token).toBeDefined();
    expect(await stores().artifacts.listByAccountId('Session', person.id)).toHaveLength(1);
    const since = new Date();

    const done = await act(admin, person.id, 'disable');
    expect([done.status, done.location]).toEqual([303, `/admin/users/${person.id}?saved=disabled`]);
    expect((await stores().accounts.findAccountById(person.id))?.disabled).toBe(true);
    expect(await stores().artifacts.listByAccountId('Session', person.id)).toHaveLength(0);
    expect(await stores().artifacts.listByAccountId('Grant', person.id)).toHaveLength(0);
    await expect(client.refreshTokenGrant(authorization.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await stores().revocations.listRevocationsSince(since, 1000))
      .toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'subject', value: person.id })]));
    expect(await eventsAbout(person.id)).toEqual(expect.arrayContaining([
      expect.objectContaining({ type: 'account.disabled', actor: { kind: 'account', id: admin.account.id } })]));
    expect((await page(admin.jar, done.location!)).html).toContain('The account is disabled');

    // The right password learns the account is disabled; a wrong one gets the one answer for everybody.
    const right = await (await openLoginForm(server.issuer, web.clientId, person.email, REDIRECT_URI))(PASSWORD);
    expect(right.status).toBe(403);
    expect(await right.text()).toContain('This account has been disabled by an administrator');
    const wrong = await (await openLoginForm(server.issuer, web.clientId, person.email, REDIRECT_URI))('not the password');
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain('disabled');
    const zhJar = new CookieJar();
    const zhPage = await follow(zhJar, server.issuer, signInPageUrl(server.issuer, web.clientId, { ui_locales: 'zh-CN' }, REDIRECT_URI));
    const zhLogin = await request(zhJar, `${zhPage.url}/login`,
      { form: { email: person.email, password: PASSWORD, _csrf: csrfFrom(await zhPage.response.text()) } });
    expect([zhLogin.status, await zhLogin.text()]).toEqual([403, expect.stringContaining('此账号已被管理员停用')]);

    const enabled = await act(admin, person.id, 'activate');
    expect(enabled.location).toBe(`/admin/users/${person.id}?saved=enabled`);
    expect((await stores().accounts.findAccountById(person.id))?.disabled).toBe(false);
    expect((await eventsAbout(person.id)).map((e) => e.type)).toContain('account.enabled');
    const again = await (await openLoginForm(server.issuer, web.clientId, person.email, REDIRECT_URI))(PASSWORD);
    expect(again.status).toBe(303);
  });
});

describe('POST /admin/users/:id/reset-two-factor', () => {
  it('removes the factor and recovery codes and ends sessions; a role that requires it enrols again at the next sign-in', async () => {
    const auditor = await signInToConsole(server, ['auditor']);
    expect(await stores().artifacts.listByAccountId('Session', auditor.account.id)).toHaveLength(1);
    const done = await act(admin, auditor.account.id, 'reset-two-factor');
    expect(done.location).toBe(`/admin/users/${auditor.account.id}?saved=mfa_reset`);
    expect(await stores().mfa.findMfaByAccountId(auditor.account.id)).toBeUndefined();
    expect(await stores().artifacts.listByAccountId('Session', auditor.account.id)).toHaveLength(0);
    expect(await eventsAbout(auditor.account.id)).toEqual(expect.arrayContaining([
      expect.objectContaining({ type: 'mfa.reset', actor: { kind: 'account', id: admin.account.id } })]));
    await lastMailTo(server.dataDir, auditor.email, /Two-factor sign-in is off/);
    expect((await page(auditor.jar, '/admin/audit')).location).toMatch(/^\/auth\?/); // signed out
    // The next sign-in asks to set the factor up, not for a code.
    await expect(signInWithTotp(server, { accountId: auditor.account.id, email: auditor.email, password: auditor.password,
      secret: auditor.secret })).rejects.toThrow(/no code page/);
    const without = await act(admin, (await newAccount()).id, 'reset-two-factor');
    expect(without.status).toBe(409);
    expect(without.html).toContain('no two-factor sign-in to reset');
  });
});

describe('POST /admin/users/:id/resend-activation', () => {
  it('mails a new activation link to an unconfirmed address, and refuses a confirmed one', async () => {
    const person = await newAccount({ emailVerified: false });
    const before = (await readOutbox(server.dataDir)).filter((m) => m.to === person.email).length;
    const done = await act(admin, person.id, 'resend-activation');
    expect(done.location).toBe(`/admin/users/${person.id}?saved=activation_resent`);
    const mail = await lastMailTo(server.dataDir, person.email);
    expect(mail.links.some((link) => link.includes('/verify-email?token='))).toBe(true);
    expect((await readOutbox(server.dataDir)).filter((m) => m.to === person.email).length).toBe(before + 1);
    expect(await eventsAbout(person.id)).toEqual(expect.arrayContaining([
      expect.objectContaining({ type: 'account.activation_resent', actor: { kind: 'account', id: admin.account.id } })]));

    const confirmed = await newAccount();
    const refused = await act(admin, confirmed.id, 'resend-activation');
    expect(refused.status).toBe(409);
    expect(refused.html).toContain('already confirmed');
  });
});

describe('POST /admin/users/:id/roles', () => {
  it('replaces the roles; the ledger names the roles added and removed, the permissions, and the admin', async () => {
    const person = await newAccount();
    const done = await act(admin, person.id, 'roles', { roles: ['member', 'support'] });
    expect(done.location).toBe(`/admin/users/${person.id}?saved=roles`);
    expect((await stores().accounts.findAccountById(person.id))?.roles).toEqual(['member', 'support']);
    const changed = (await eventsAbout(person.id)).find((e) => e.type === 'role.changed');
    expect(changed).toMatchObject({ actor: { kind: 'account', id: admin.account.id }, permissions: ['calls:read'],
      details: { from: ['member'], to: ['member', 'support'], added: ['support'], removed: [] } });

    await act(admin, person.id, 'roles', { roles: ['support'] });
    const second = (await eventsAbout(person.id)).filter((e) => e.type === 'role.changed').at(-1);
    expect(second?.details).toMatchObject({ added: [], removed: ['member'] });

    const unknown = await act(admin, person.id, 'roles', { roles: ['boss'] });
    expect(unknown.status).toBe(400);
    expect(unknown.html).toContain('There is no role boss');
    expect((await act(admin, person.id, 'roles')).status).toBe(400); // none ticked
    expect((await stores().accounts.findAccountById(person.id))?.roles).toEqual(['support']);
  });
});

describe('no change leaves the system without an active admin', () => {
  it('the last active admin can neither drop their admin role nor disable themselves; with a second admin they can', async () => {
    const lone = await startTestServer();
    try {
      const only = await signInToConsole(lone, ['admin']);
      const onLone = (path: string) => request(only.jar, `${lone.issuer}${path}`);
      const csrf = csrfFrom(await (await onLone(`/admin/users/${only.account.id}`)).text());
      const post = (action: string, form: Record<string, string>) => request(only.jar, `${lone.issuer}/admin/users/${only.account.id}/${action}`,
        { form: { ...form, _csrf: csrf } });
      const demote = await post('roles', { roles: 'member' });
      expect(demote.status).toBe(409);
      expect(await demote.text()).toContain('This is the last active administrator');
      const disable = await post('disable', {});
      expect(disable.status).toBe(409);
      const account = await lone.services.stores.durable.accounts.findAccountById(only.account.id);
      expect(account).toMatchObject({ roles: ['admin'], disabled: false });

      // A disabled admin does not count as another active one.
      const dormant = await createAccount(lone.services.accountDeps, { email: 'dormant@admins.test', password: PASSWORD, roles: ['admin'],
        emailVerified: true }, system);
      await lone.services.stores.durable.accounts.updateAccountById(dormant.id, { disabled: true, updatedAt: new Date() });
      expect((await post('roles', { roles: 'member' })).status).toBe(409);

      await createAccount(lone.services.accountDeps, { email: 'second@admins.test', password: PASSWORD, roles: ['admin'],
        emailVerified: true }, system);
      const allowed = await post('roles', { roles: 'member' });
      expect(allowed.status).toBe(303);
      expect((await lone.services.stores.durable.accounts.findAccountById(only.account.id))?.roles).toEqual(['member']);
    } finally {
      await lone.close();
    }
  });
});

describe('who may use /admin/users', () => {
  const routes = (id: string): [string, string][] => [['GET', '/admin/users'], ['GET', '/admin/users?q=a'], ['GET', `/admin/users/${id}`],
    ...['disable', 'activate', 'reset-two-factor', 'resend-activation', 'roles'].map((a): [string, string] => ['POST', `/admin/users/${id}/${a}`])];

  it('a member and an auditor get 403 on every route, and nothing changes', async () => {
    const target = await newAccount({ emailVerified: false });
    await enrolTotp(server, target.id);
    for (const roles of [['member'], ['auditor']]) {
      const session = await signInToConsole(server, roles);
      const csrf = csrfFrom((await page(session.jar, '/account')).html);
      for (const [method, path] of routes(target.id)) {
        const response = await request(session.jar, `${server.issuer}${path}`,
          method === 'POST' ? { form: { _csrf: csrf, roles: 'admin' } } : {});
        expect([roles[0], method, path, response.status]).toEqual([roles[0], method, path, 403]);
      }
    }
    expect(await stores().accounts.findAccountById(target.id)).toMatchObject({ roles: ['member'], disabled: false });
    expect(await stores().mfa.findMfaByAccountId(target.id)).toBeDefined();
    expect((await eventsAbout(target.id)).map((e) => e.type)).toEqual(['account.registered']);
  });

  it('nobody is sent to sign in (GET) or back to /admin (POST)', async () => {
    const target = await newAccount();
    const jar = new CookieJar();
    const csrf = csrfFrom((await page(jar, '/register')).html); // a valid token, so that only the sign-in check answers
    for (const [method, path] of routes(target.id)) {
      const response = await request(jar, `${server.issuer}${path}`, method === 'POST' ? { form: { roles: 'admin', _csrf: csrf } } : {});
      const location = response.headers.get('location');
      if (method === 'GET') expect([path, response.status, location?.split('?')[0]]).toEqual([path, 302, '/auth']);
      else expect([path, response.status, location]).toEqual([path, 303, '/admin']);
    }
    expect(await stores().accounts.findAccountById(target.id)).toMatchObject({ roles: ['member'], disabled: false });
  });
});

describe('profile forms cannot assign roles (issue 11 item 5)', () => {
  it('POST /account/profile with roles=admin or role=admin changes the name only', async () => {
    const session = await signInToConsole(server, ['member']);
    const csrf = csrfFrom((await page(session.jar, '/account')).html);
    for (const extra of [{ roles: 'admin' }, { role: 'admin' }, { 'roles[]': 'admin' }] as Record<string, string>[]) {
      const response = await request(session.jar, `${server.issuer}/account/profile`, { form: { name: 'Renamed', ...extra, _csrf: csrf } });
      expect(response.status).toBe(303);
    }
    expect(await stores().accounts.findAccountById(session.account.id)).toMatchObject({ name: 'Renamed', roles: ['member'] });
    expect((await eventsAbout(session.account.id)).map((e) => e.type)).not.toContain('role.changed');
    expect((await page(session.jar, '/admin/users')).status).toBe(403);
  });
});
