// Who counts as signed in, over HTTP: a half-finished sign-in never reaches the account pages,
// turning the second factor on needs the password, sessions end at their absolute lifetime, a
// password change kills the old tokens, and form posts from other sites are refused.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import { decodeJwt } from 'jose';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { setAccountRoles } from '../../src/accounts/set-account-roles.ts';
import { sessionTtl } from '../../src/oidc/create-provider.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { CookieJar, csrfFrom, follow, request, signInAndConsent, signInPageUrl } from '../helpers/browserless-login.ts';
import { codeAt, createMfaFlow, type Step } from '../helpers/mfa-flow.ts';
import { authorizationRequest } from '../helpers/relying-party.ts';
import { lastMailTo, readOutbox } from '../helpers/outbox.ts';
import { enrolTotp } from '../helpers/console-session.ts';

const actor = { kind: 'system', id: 'test' } as const;
const REDIRECT_URI = 'http://localhost/callback';
const PASSWORD = 'only the owner knows this';
let server: TestServer;
let web: { clientId: string; secret: string };

beforeAll(async () => {
  server = await startTestServer();
  const created = await createApplication(server.services.applicationDeps, { name: 'Chat Web', type: 'web', redirectUris: [REDIRECT_URI] }, actor);
  web = { clientId: created.application.clientId, secret: created.secret!.clientSecret };
});
afterAll(() => server.close());

let accounts = 0;
async function newAccount(roles?: string[], on = server) {
  accounts += 1;
  const email = `person${accounts}@example.test`;
  const account = await createAccount(on.services.accountDeps, { email, password: PASSWORD, name: 'Owner', emailVerified: true, roles }, actor);
  return { email, id: account.id };
}

const flow = () => createMfaFlow(server, web, REDIRECT_URI, PASSWORD);
const stores = () => server.services.stores.durable;
const ledgerTypes = async (subject: string) => (await stores().audit.listAuditEvents({ subject, limit: 1000 })).map((e) => e.type);
const isCodePage = (html: string) => /action="\/interaction\/[^"]+\/mfa"/.test(html);

/** Signs in to the web app with a refresh token (offline_access, prompt=consent); returns its tokens. */
async function signedInWithTokens(email: string, jar: CookieJar) {
  const request = await authorizationRequest(server.issuer, web, REDIRECT_URI,
    { scope: 'openid offline_access message:send', prompt: 'consent' });
  const callback = await signInAndConsent(server.issuer, request.url.href, { email, password: PASSWORD }, 'allow', jar);
  return { config: request.config, tokens: await request.redeem(callback) };
}

/** Signs in through the account pages' own sign-in (password only); returns the /account HTML. */
async function signInToAccount(on: TestServer, email: string, jar: CookieJar): Promise<string> {
  const login = await follow(jar, on.issuer, `${on.issuer}/account`);
  const html = await login.response.text();
  const posted = await request(jar, `${login.url}/login`, { form: { email, password: PASSWORD, _csrf: csrfFrom(html) } });
  const page = await follow(jar, on.issuer, new URL(posted.headers.get('location')!, on.issuer).href);
  expect(page.url).toBe(`${on.issuer}/account`);
  return page.response.text();
}

describe('a sign-in that has not finished every factor the account requires (ASVS 5 6.3.3)', () => {
  it('a password alone, stopped at the code page, opens no account page and changes nothing', async () => {
    const { email, id } = await newAccount();
    const { secret } = await flow().enrol(email);
    const jar = new CookieJar();
    const mfa = await flow().afterPassword(email, jar);
    expect(isCodePage(mfa.html)).toBe(true);

    // /developers (issue 10 item 8): the same complete-sign-in check as /account, for pages and changes alike.
    const owned = await createApplication(server.services.applicationDeps,
      { name: 'Bot', type: 'service', scope: 'message:send', ownerEmail: email }, actor);
    const { clientId } = owned.application;
    const application = await stores().applications.findApplicationByClientId(clientId);
    let page: Step = mfa;
    for (const path of ['/developers', `/developers/applications/${clientId}`]) {
      page = await flow().open(jar, `${server.issuer}${path}`);
      expect([path, isCodePage(page.html)]).toEqual([path, true]); // the code page again, not the developer's applications
      expect(page.html).not.toContain(clientId);
    }
    const forgedChanges: [string, Record<string, string>][] = [
      [`/developers/applications/${clientId}/rotate-secret`, { grace: '0' }],
      [`/developers/applications/${clientId}/delete`, { confirm: 'yes' }],
      ['/developers/applications', { name: 'Forged', type: 'service', scope: 'message:send' }],
    ];
    for (const [path, form] of forgedChanges) {
      const response = await request(jar, `${server.issuer}${path}`, { form: { ...form, _csrf: csrfFrom(mfa.html) } });
      expect([path, response.status, response.headers.get('location')]).toEqual([path, 303, '/developers']);
    }
    expect(await stores().applications.findApplicationByClientId(clientId)).toEqual(application);
    expect(await stores().applications.listApplicationsByOwnerId(id)).toHaveLength(1);

    for (const path of ['/account/security/totp', '/account/security', '/account']) {
      page = await flow().open(jar, `${server.issuer}${path}`);
      expect(isCodePage(page.html)).toBe(true); // the code page again, not the account
      expect(page.html).not.toContain('current_password');
    }
    const before = (await stores().accounts.findAccountById(id))!;
    const forged: [string, Record<string, string>][] = [
      ['/account/email', { email: 'attacker@example.test', current_password: PASSWORD }],
      ['/account/password', { current_password: PASSWORD, password: 'the attacker chose this one' }],
      ['/account/profile', { name: 'Mallory' }],
      ['/account/security/recovery-codes', { current_password: PASSWORD, code: await codeAt(secret, 1) }],
    ];
    for (const [path, form] of forged) {
      const response = await request(jar, `${server.issuer}${path}`, { form: { ...form, _csrf: csrfFrom(mfa.html) } });
      expect([path, response.status, response.headers.get('location')]).toEqual([path, 303, '/account']);
    }
    expect(await stores().accounts.findAccountById(id)).toEqual(before);
    for (const type of ['account.email_change_requested', 'password.changed', 'account.profile_updated', 'mfa.recovery_codes_regenerated',
      'client.secret_rotated', 'client.deleted']) {
      expect(await ledgerTypes(id)).not.toContain(type);
    }
    expect((await readOutbox(server.dataDir)).some((mail) => mail.to === 'attacker@example.test')).toBe(false);

    // /admin: an administrator's password alone opens no console page and runs no console action;
    // the sign-in check comes before the console's role check (the code page, not a 403).
    const admin = await newAccount(['admin']);
    await enrolTotp(server, admin.id);
    const adminJar = new CookieJar();
    const adminCodePage = await flow().afterPassword(admin.email, adminJar);
    expect(isCodePage(adminCodePage.html)).toBe(true);
    for (const path of ['/admin', '/admin/users', `/admin/users/${id}`]) {
      const consolePage = await flow().open(adminJar, `${server.issuer}${path}`);
      expect([path, isCodePage(consolePage.html)]).toEqual([path, true]); // the code page again, not the console
      expect(consolePage.html).not.toContain(email);
    }
    const disable = await request(adminJar, `${server.issuer}/admin/users/${id}/disable`, { form: { _csrf: csrfFrom(adminCodePage.html) } });
    expect([disable.status, disable.headers.get('location')]).toEqual([303, '/admin']);
    expect((await stores().accounts.findAccountById(id))!.disabled).toBe(false);
    expect(await ledgerTypes(id)).not.toContain('account.disabled');

    // With the code the sign-in is complete, and the same session opens the account.
    const account = await flow().post(jar, page, '/mfa', { code: await codeAt(secret, 1) });
    expect(account.url).toBe(`${server.issuer}/account`);
    expect(account.html).toContain(`Signed in as ${email}`);
  });

  it('an admin who must enrol is held at enrolment, which needs the password as well as a code', async () => {
    const { email, id } = await newAccount(['admin']);
    const jar = new CookieJar();
    const enrolment = await flow().afterPassword(email, jar);
    expect(enrolment.html).toContain('data-totp-secret');
    const again = await flow().open(jar, `${server.issuer}/account`);
    expect(again.html).toContain('data-totp-secret');
    expect(again.html).not.toContain('Signed in as');
    const secret = /data-totp-secret>([A-Z2-7]+)</.exec(again.html)![1]!;
    const viaAccount = await request(jar, `${server.issuer}/account/security/totp`,
      { form: { current_password: PASSWORD, code: await codeAt(secret), _csrf: csrfFrom(again.html) } });
    expect(viaAccount.status).toBe(303);
    const wrongPassword = await flow().post(jar, again, '/mfa-enroll', { current_password: 'not the password', code: await codeAt(secret) });
    expect(wrongPassword.status).toBe(400);
    expect(wrongPassword.html).toContain('The current password is not right.');
    expect((await stores().mfa.findMfaByAccountId(id))?.enabledAt).toBeNull();
    const enrolled = await flow().post(jar, again, '/mfa-enroll', { current_password: PASSWORD, code: await codeAt(secret) });
    expect([...enrolled.html.matchAll(/data-recovery-code/g)]).toHaveLength(10);
    expect((await stores().mfa.findMfaByAccountId(id))?.enabledAt).toEqual(expect.any(Date));
  });
});

describe('session lifetime (ASVS 5 7.3.2)', () => {
  it('the idle lifetime is capped by the absolute one, counted from sign-in', () => {
    const ttl = { sessionSeconds: 3600, sessionAbsoluteSeconds: 86_400 } as Parameters<typeof sessionTtl>[0];
    expect(sessionTtl(ttl, undefined, 1000)).toBe(3600);
    expect(sessionTtl(ttl, 1000, 1000)).toBe(3600);
    expect(sessionTtl(ttl, 1000, 1000 + 86_400 - 60)).toBe(60);
    expect(sessionTtl(ttl, 1000, 1000 + 90_000)).toBe(1);
  });

  it('a session in use lives past its idle lifetime, and still ends at its absolute lifetime', async () => {
    const short = await startTestServer({ configure: (config) => ({ ...config,
      ttl: { ...config.ttl, sessionSeconds: 4, sessionAbsoluteSeconds: 9 } }) });
    try {
      const { email, id } = await newAccount(undefined, short);
      const jar = new CookieJar();
      await signInToAccount(short, email, jar);
      // Times count from the session's own sign-in time (epoch seconds), read from the store.
      const [stored] = await short.services.stores.durable.artifacts.listByAccountId('Session', id);
      const loginMs = (stored!.payload.loginTs as number) * 1000;
      const at = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, loginMs + ms - Date.now())));
      // A sign-in request (any app's, here the account pages') is a use: the session is saved again.
      // Signed in, it goes straight through to /account (no sign-in page on the way).
      const use = async () => (await follow(jar, short.issuer, signInPageUrl(short.issuer, 'tokenim-account', {},
        `${short.issuer}/account/callback`))).url;
      await at(3000);
      expect(await use()).toBe(`${short.issuer}/account`);
      await at(6000); // past the first idle end (4 s after sign-in): alive because it was used
      expect(await use()).toBe(`${short.issuer}/account`);
      const usedAt = Date.now();
      // Saved then for what is left of the 9 s (at most 3 s); idle alone would keep it 4 s more.
      await new Promise((r) => setTimeout(r, usedAt + 3300 - Date.now()));
      const expired = await request(jar, `${short.issuer}/account`);
      expect(expired.status).toBe(302);
      expect(expired.headers.get('location')).toMatch(/^\/auth\?/);
    } finally {
      await short.close();
    }
  }, 20_000);
});

describe('credentials change: the old tokens die', () => {

  it('a password change on /account revokes the refresh tokens issued before it and publishes the revocation', async () => {
    const { email } = await newAccount();
    const jar = new CookieJar();
    const { config, tokens } = await signedInWithTokens(email, jar);
    const grantId = decodeJwt(tokens.access_token).grant_id;
    const since = new Date(Date.now() - 1000);
    const html = await (await request(jar, `${server.issuer}/account`)).text();
    const changed = await request(jar, `${server.issuer}/account/password`,
      { form: { current_password: PASSWORD, password: 'a fresh passphrase now', _csrf: csrfFrom(html) } });
    expect(changed.status).toBe(303);
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const events = await stores().revocations.listRevocationsSince(since, 1000);
    expect(events).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'grant', value: grantId })]));
    expect((await request(jar, `${server.issuer}/account`)).status).toBe(200); // this session stays
  });

  it('a password change or reset kills pending email-change links (asked for by whoever had the old password)', async () => {
    const { email, id } = await newAccount();
    const thief = new CookieJar();
    const html = await signInToAccount(server, email, thief);
    expect((await request(thief, `${server.issuer}/account/email`,
      { form: { email: 'thief@example.test', current_password: PASSWORD, _csrf: csrfFrom(html) } })).status).toBe(303);
    const link = (await lastMailTo(server.dataDir, 'thief@example.test', /Confirm/)).links[0]!;
    const owner = new CookieJar();
    const ownerPage = await signInToAccount(server, email, owner);
    expect((await request(owner, `${server.issuer}/account/password`,
      { form: { current_password: PASSWORD, password: 'the owner takes it back', _csrf: csrfFrom(ownerPage) } })).status).toBe(303);
    expect((await fetch(link)).status).toBe(400);
    expect((await stores().accounts.findAccountById(id))!.email).toBe(email);
  });

  it('of two pending email changes only the latest link works', async () => {
    const { email, id } = await newAccount();
    const jar = new CookieJar();
    const html = await signInToAccount(server, email, jar);
    for (const to of ['first.choice@example.test', 'second.choice@example.test']) {
      const asked = await request(jar, `${server.issuer}/account/email`, { form: { email: to, current_password: PASSWORD, _csrf: csrfFrom(html) } });
      expect(asked.status).toBe(303);
    }
    const first = (await lastMailTo(server.dataDir, 'first.choice@example.test', /Confirm/)).links[0]!;
    const second = (await lastMailTo(server.dataDir, 'second.choice@example.test', /Confirm/)).links[0]!;
    expect((await fetch(first)).status).toBe(400);
    expect((await stores().accounts.findAccountById(id))!.email).toBe(email);
    expect((await fetch(second)).status).toBe(200);
    expect((await stores().accounts.findAccountById(id))!.email).toBe('second.choice@example.test');
  });
});

describe('tokens follow the same decision as the pages', () => {
  it('a refresh token from a password-only sign-in stops working once the account requires a second factor', async () => {
    const { email } = await newAccount();
    const { config, tokens } = await signedInWithTokens(email, new CookieJar());
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    await setAccountRoles(server.services.accountDeps, email, ['admin'], actor); // admin requires two-factor
    await expect(client.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('a half-finished sign-in writes no first-party grant', async () => {
    const { email, id } = await newAccount();
    await flow().enrol(email);
    const grantsBefore = await stores().artifacts.listByAccountId('Grant', id);
    const jar = new CookieJar();
    await flow().afterPassword(email, jar);
    expect(isCodePage((await flow().open(jar, `${server.issuer}/account`)).html)).toBe(true);
    expect(await stores().artifacts.listByAccountId('Grant', id)).toEqual(grantsBefore);
  });
});

describe('form posts from other sites (OWASP CSRF: Fetch Metadata, Origin)', () => {
  it('a valid token with a foreign Origin or Sec-Fetch-Site: cross-site is refused; same-origin passes', async () => {
    const { email, id } = await newAccount();
    const jar = new CookieJar();
    const html = await signInToAccount(server, email, jar);
    const post = (name: string, headers: Record<string, string>) =>
      request(jar, `${server.issuer}/account/profile`, { form: { name, _csrf: csrfFrom(html) }, headers });
    expect((await post('Evil', { origin: 'https://evil.example' })).status).toBe(403);
    expect((await post('Evil', { 'sec-fetch-site': 'cross-site', origin: 'null' })).status).toBe(403);
    expect((await post('Evil', { 'sec-fetch-site': 'same-site' })).status).toBe(403);
    expect((await stores().accounts.findAccountById(id))!.name).toBe('Owner');
    expect((await post('Same Origin', { origin: server.issuer })).status).toBe(303);
    expect((await post('Fetch Metadata', { 'sec-fetch-site': 'same-origin', origin: 'null' })).status).toBe(303);
    expect((await stores().accounts.findAccountById(id))!.name).toBe('Fetch Metadata');
  });
});

describe('pages the provider renders carry a CSP that forbids framing', () => {
  it('the logout auto-submit page: frame-ancestors none and only its own inline script, by hash', async () => {
    const response = await fetch(`${server.issuer}/session/end`);
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toContain("frame-ancestors 'none'");
    const script = /<script>([\s\S]*?)<\/script>/.exec(await response.text())![1]!;
    expect(csp).toContain(`'sha256-${createHash('sha256').update(script).digest('base64')}'`);
    expect(csp).not.toContain('unsafe-inline\'; script');
  });

  it('the logout question and the provider\'s error page too', async () => {
    const { email } = await newAccount();
    const jar = new CookieJar();
    await signInToAccount(server, email, jar);
    const logout = await request(jar, `${server.issuer}/session/end`);
    expect(await logout.text()).toContain('op.logoutForm');
    expect(logout.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const error = await fetch(`${server.issuer}/auth?client_id=nobody&response_type=code`);
    expect(error.headers.get('content-type')).toMatch(/html/);
    expect(error.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });
});

describe('cookies under https take the __Host- prefix', () => {
  it('session and CSRF cookies are __Host-, the path-scoped interaction cookies __Secure-, and a sign-in works with them', async () => {
    const tls = await startTestServer({ env: { ISSUER: 'https://auth.example.test', TRUST_PROXY: 'true' } });
    try {
      const { email } = await newAccount(undefined, tls);
      const jar = new CookieJar();
      const viaTls = { 'x-forwarded-proto': 'https' };
      // Redirects name https URLs (the proxy's view); this test talks plain http to the same port.
      const local = (location: string) => new URL(new URL(location, tls.issuer).pathname + new URL(location, tls.issuer).search, tls.issuer).href;
      const names: string[] = [];
      const get = async (url: string) => {
        const response = await request(jar, url, { headers: viaTls });
        names.push(...response.headers.getSetCookie().map((c) => c.slice(0, c.indexOf('='))));
        return response;
      };
      let response = await get(`${tls.issuer}/account`);
      for (let hops = 0; response.status === 302 || response.status === 303; hops += 1) response = await get(local(response.headers.get('location')!));
      const html = await response.text();
      const posted = await request(jar, local(/action="([^"]+\/login)"/.exec(html)![1]!),
        { form: { email, password: PASSWORD, _csrf: csrfFrom(html) }, headers: viaTls });
      expect(posted.status).toBe(303);
      response = await get(local(posted.headers.get('location')!));
      while (response.status === 302 || response.status === 303) response = await get(local(response.headers.get('location')!));
      expect(await response.text()).toContain(`Signed in as ${email}`);
      expect(names).toEqual(expect.arrayContaining(['__Host-session', '__Host-tokenim_csrf', '__Secure-interaction',
        '__Secure-interaction_resume']));
      expect(names.filter((name) => !/^__(Host|Secure)-/.test(name))).toEqual([]);
    } finally {
      await tls.close();
    }
  });
});

describe('the ledger', () => {
  it('a failed sign-in names the account when the email has one, and a replayed code is recorded as a replay', async () => {
    const { email, id } = await newAccount();
    const { secret } = await flow().enrol(email);
    const jar = new CookieJar();
    const login = await flow().open(jar, (await flow().authorization()).url);
    expect((await flow().post(jar, login, '/login', { email, password: 'a wrong password' })).status).toBe(401);
    expect((await flow().post(jar, login, '/login', { email: 'nobody.here@example.test', password: 'a wrong password' })).status).toBe(401);
    const failed = await stores().audit.listAuditEvents({ type: 'login.failed', limit: 10_000 });
    expect(failed.filter((e) => e.subject === id).map((e) => e.details.reason)).toEqual(['wrong_password']);
    expect(failed.some((e) => e.subject === null && e.details.reason === 'unknown_email')).toBe(true);

    const code = await codeAt(secret, 1);
    const jarA = new CookieJar();
    const first = await flow().afterPassword(email, jarA);
    expect((await flow().post(jarA, first, '/mfa', { code })).postStatus).toBe(303);
    const jarB = new CookieJar();
    const second = await flow().afterPassword(email, jarB);
    expect((await flow().post(jarB, second, '/mfa', { code })).postStatus).toBe(401);
    expect(await ledgerTypes(id)).toContain('mfa.replayed');
  });
});
