// Accounts and sign-in over HTTP: registration and confirmation, throttling, reset, consent,
// the account pages, CSRF and headers. The browser walk of the same paths is in test/e2e.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { CookieJar, csrfFrom, follow, request, signInAndConsent } from '../helpers/browserless-login.ts';
import { lastMailTo, readOutbox } from '../helpers/outbox.ts';

const actor = { kind: 'system', id: 'test' } as const;
const REDIRECT_URI = 'http://localhost/callback';
let server: TestServer;
let web: { clientId: string; secret: string };
let firstParty: { clientId: string; secret: string };

beforeAll(async () => {
  server = await startTestServer();
  const created = await createApplication(server.services.applicationDeps, { name: 'Chat Web', type: 'web', redirectUris: [REDIRECT_URI] }, actor);
  web = { clientId: created.application.clientId, secret: created.secret!.clientSecret };
  const own = await createApplication(server.services.applicationDeps,
    { name: 'TokenIM Desktop', type: 'web', redirectUris: [REDIRECT_URI], isFirstParty: true }, actor);
  firstParty = { clientId: own.application.clientId, secret: own.secret!.clientSecret };
});
afterAll(() => server.close());

const discover = (c: { clientId: string; secret: string }) =>
  client.discovery(new URL(server.issuer), c.clientId, undefined, client.ClientSecretBasic(c.secret), { execute: [client.allowInsecureRequests] });

async function authorizationUrl(c = web, extra: Record<string, string> = {}) {
  const config = await discover(c);
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI, scope: 'openid email offline_access message:send', prompt: 'consent',
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  });
  return { config, verifier, url: url.href };
}

/** GET a page, then POST its form with the page's CSRF token. */
async function submit(jar: CookieJar, pageUrl: string, action: string, form: Record<string, string>) {
  const page = await request(jar, pageUrl);
  return request(jar, new URL(action, server.issuer).href, { form: { ...form, _csrf: csrfFrom(await page.text()) } });
}

async function register(email: string, password: string, jar = new CookieJar()) {
  return submit(jar, `${server.issuer}/register`, '/register', { email, password, name: 'Wei' });
}

async function openLogin(jar: CookieJar) {
  const { url } = await authorizationUrl();
  const step = await follow(jar, server.issuer, url);
  return { loginUrl: step.url, csrf: csrfFrom(await step.response.text()) };
}

describe('registration and email confirmation', () => {
  it('creates an unconfirmed account that cannot sign in until the mailed link is opened', async () => {
    const email = 'wei@example.test';
    const registered = await register(email, 'a quiet harbour at dawn');
    expect(registered.status).toBe(303);
    expect(registered.headers.get('location')).toBe('/register/sent');

    const jar = new CookieJar();
    const { loginUrl, csrf } = await openLogin(jar);
    const early = await request(jar, `${loginUrl}/login`, { form: { email, password: 'a quiet harbour at dawn', _csrf: csrf } });
    expect(early.status).toBe(403);
    const html = await early.text();
    expect(html).toContain('not activated');
    expect(html).toContain('data-action="resend-activation"');

    const mail = await lastMailTo(server.dataDir, email, /Activate/);
    expect(mail.text).toContain(mail.links[0]);
    expect(mail.html).toContain('Activate my account');
    const verified = await fetch(mail.links[0]!);
    expect(verified.status).toBe(200);
    expect(await verified.text()).toContain('Email confirmed');
    expect((await fetch(mail.links[0]!)).status).toBe(400); // single use

    const callback = await signInAndConsent(server.issuer, (await authorizationUrl()).url, { email, password: 'a quiet harbour at dawn' });
    expect(new URL(callback).searchParams.get('code')).toEqual(expect.any(String));
  });

  it('answers an address that is taken exactly like a new one, and mails its owner instead', async () => {
    const email = 'taken@example.test';
    await createAccount(server.services.accountDeps, { email, password: 'the owner passphrase', emailVerified: true }, actor);
    const response = await register(email, 'another long passphrase');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/register/sent');
    const mail = await lastMailTo(server.dataDir, email);
    expect(mail.subject).toBe('You already have a TokenIM account');
  });

  it.each([
    ['short', 'at least 8 characters'],
    ['password123', 'too common'],
    ['iloveyou', 'too common'],
  ])('refuses the password %j with a clear message and creates nothing', async (password, message) => {
    const email = `weak.${password}@example.test`;
    const response = await register(email, password);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain(message);
    expect(await server.services.stores.durable.accounts.findAccountByEmail(email)).toBeUndefined();
  });

  it('accepts a 64-character password with any characters, and does not truncate it', async () => {
    const password = `${'密码'.repeat(20)}!@#$%^&* ${'x'.repeat(15)}`;
    const email = 'long@example.test';
    expect((await register(email, password)).status).toBe(303);
    const account = await server.services.stores.durable.accounts.findAccountByEmail(email);
    const { verifyPassword } = await import('../../src/accounts/password-hash.ts');
    expect(await verifyPassword(password, account!.passwordHash)).toBe(true);
    expect(await verifyPassword(password.slice(0, -1), account!.passwordHash)).toBe(false);
  });

  it('mails in the person\'s language', async () => {
    const jar = new CookieJar();
    const page = await request(jar, `${server.issuer}/register?ui_locales=zh-CN`);
    const html = await page.text();
    expect(html).toContain('创建您的 TokenIM 账号');
    await request(jar, `${server.issuer}/register`, { form: { email: 'lin@example.test', password: '春眠不觉晓处处闻啼鸟', name: '林', _csrf: csrfFrom(html) } });
    const mail = await lastMailTo(server.dataDir, 'lin@example.test');
    expect(mail.subject).toBe('激活您的 TokenIM 账号');
    expect(mail.text).toContain('24 小时');
  });
});

describe('CSRF', () => {
  it('a forged cross-site POST to /register changes nothing (403)', async () => {
    const before = (await readOutbox(server.dataDir)).length;
    const response = await fetch(`${server.issuer}/register`, {
      method: 'POST', redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: 'email=forged%40example.test&password=a+long+forged+password&name=x',
    });
    expect(response.status).toBe(403);
    expect(await server.services.stores.durable.accounts.findAccountByEmail('forged@example.test')).toBeUndefined();
    expect((await readOutbox(server.dataDir)).length).toBe(before);
  });

  it('a forged POST to /account with the victim\'s cookies but no token changes nothing (403)', async () => {
    const email = 'victim@example.test';
    await createAccount(server.services.accountDeps, { email, password: 'victim passphrase', name: 'Victim', emailVerified: true }, actor);
    const jar = new CookieJar();
    await signInAndConsent(server.issuer, (await authorizationUrl()).url, { email, password: 'victim passphrase' }, 'allow', jar);
    expect((await request(jar, `${server.issuer}/account`)).status).toBe(200);
    const forged = await request(jar, `${server.issuer}/account/profile`, { form: { name: 'Attacker' } });
    expect(forged.status).toBe(403);
    expect((await server.services.stores.durable.accounts.findAccountByEmail(email))!.name).toBe('Victim');
  });
});

describe('login throttling', () => {
  it('25 wrong passwords for one account end in 429 with Retry-After; an unknown email gets the same', async () => {
    const email = 'target@example.test';
    await createAccount(server.services.accountDeps, { email, password: 'the right passphrase', emailVerified: true }, actor);
    const attempt = async (who: string) => {
      const jar = new CookieJar();
      const { loginUrl, csrf } = await openLogin(jar);
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 25; i += 1) {
        last = await request(jar, `${loginUrl}/login`, { form: { email: who, password: `wrong ${i}`, _csrf: csrf } });
        statuses.push(last.status);
      }
      return { statuses, last: last!, body: await last!.text() };
    };
    const known = await attempt(email);
    const unknown = await attempt('nobody-at-all@example.test');
    for (const result of [known, unknown]) {
      expect(result.statuses.slice(0, 9)).toEqual(Array(9).fill(401));
      expect(result.statuses.slice(9)).toEqual(Array(16).fill(429));
      expect(Number(result.last.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(result.body).toMatch(/Too many attempts\. Try again in \d+ minutes/);
    }
    // Blocked means blocked: even the right password waits.
    const jar = new CookieJar();
    const { loginUrl, csrf } = await openLogin(jar);
    expect((await request(jar, `${loginUrl}/login`, { form: { email, password: 'the right passphrase', _csrf: csrf } })).status).toBe(429);
  });
});

describe('password reset', () => {
  it('answers the same for unknown addresses and sends nothing', async () => {
    const jar = new CookieJar();
    const response = await submit(jar, `${server.issuer}/forgot-password`, '/forgot-password', { email: 'ghost@example.test' });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/forgot-password/sent');
    // Mail leaves through a queue after the answer: once a later request's mail is out, the
    // earlier one would be too.
    await createAccount(server.services.accountDeps, { email: 'known@example.test', password: 'known passphrase', emailVerified: true }, actor);
    await submit(jar, `${server.issuer}/forgot-password`, '/forgot-password', { email: 'known@example.test' });
    await lastMailTo(server.dataDir, 'known@example.test', /Reset/);
    expect((await readOutbox(server.dataDir)).filter((mail) => mail.to === 'ghost@example.test')).toEqual([]);
  });

  it('a reset link works once; afterwards the old password and the old refresh tokens fail, and a notice is mailed', async () => {
    const email = 'reset@example.test';
    await createAccount(server.services.accountDeps, { email, password: 'the old passphrase', emailVerified: true }, actor);
    const { config, verifier, url } = await authorizationUrl();
    const callback = await signInAndConsent(server.issuer, url, { email, password: 'the old passphrase' });
    const tokens = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, idTokenExpected: true });
    expect(tokens.refresh_token).toEqual(expect.any(String));

    const jar = new CookieJar();
    expect((await submit(jar, `${server.issuer}/forgot-password`, '/forgot-password', { email })).status).toBe(303);
    const link = (await lastMailTo(server.dataDir, email, /Reset/)).links[0]!;
    const page = await request(jar, link);
    expect(page.status).toBe(200);
    const token = new URL(link).searchParams.get('token')!;
    const csrf = csrfFrom(await page.text());
    const weak = await request(jar, `${server.issuer}/reset-password`, { form: { token, password: 'password', _csrf: csrf } });
    expect(weak.status).toBe(400); // a refused password does not use the link up
    const done = await request(jar, `${server.issuer}/reset-password`, { form: { token, password: 'the brand new passphrase', _csrf: csrf } });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/reset-password/done');
    const again = await request(jar, `${server.issuer}/reset-password`, { form: { token, password: 'yet another passphrase', _csrf: csrf } });
    expect(again.status).toBe(400);
    expect((await request(jar, link)).status).toBe(400);

    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await lastMailTo(server.dataDir, email, /password was changed/)).to).toBe(email);
    await expect(signInAndConsent(server.issuer, (await authorizationUrl()).url, { email, password: 'the old passphrase' }))
      .rejects.toThrow(/401/);
    const fresh = await signInAndConsent(server.issuer, (await authorizationUrl()).url, { email, password: 'the brand new passphrase' });
    expect(new URL(fresh).searchParams.get('code')).toEqual(expect.any(String));
  });
});

describe('consent', () => {
  it('is remembered: a second authorization for the same permissions asks nothing', async () => {
    const email = 'remember@example.test';
    await createAccount(server.services.accountDeps, { email, password: 'remember this one', emailVerified: true }, actor);
    const jar = new CookieJar();
    await signInAndConsent(server.issuer, (await authorizationUrl(web, { prompt: 'login' })).url, { email, password: 'remember this one' }, 'allow', jar);
    const { url } = await authorizationUrl(web, { scope: 'openid email message:send', prompt: '' });
    const step = await follow(jar, server.issuer, url.replace('&prompt=', ''));
    expect(new URL(step.url).searchParams.get('code')).toEqual(expect.any(String));
  });

  it('is skipped for first-party applications', async () => {
    const email = 'own@example.test';
    await createAccount(server.services.accountDeps, { email, password: 'first party pass', emailVerified: true }, actor);
    const jar = new CookieJar();
    const { url } = await authorizationUrl(firstParty, { scope: 'openid message:send', prompt: 'login' });
    let step = await follow(jar, server.issuer, url);
    const html = await step.response.text();
    expect(html).toContain('/login"');
    const posted = await request(jar, `${step.url}/login`, { form: { email, password: 'first party pass', _csrf: csrfFrom(html) } });
    step = await follow(jar, server.issuer, new URL(posted.headers.get('location')!, server.issuer).href);
    expect(step.url.startsWith(REDIRECT_URI)).toBe(true);
    expect(new URL(step.url).searchParams.get('code')).toEqual(expect.any(String));
  });

  it('denying returns access_denied to the app', async () => {
    const email = 'denier@example.test';
    await createAccount(server.services.accountDeps, { email, password: 'i say no thanks', emailVerified: true }, actor);
    const callback = new URL(await signInAndConsent(server.issuer, (await authorizationUrl()).url, { email, password: 'i say no thanks' }, 'deny'));
    expect(callback.searchParams.get('error')).toBe('access_denied');
  });
});

describe('the account page', () => {
  async function signedIn(email: string, password: string) {
    await createAccount(server.services.accountDeps, { email, password, name: 'Ann', emailVerified: true }, actor);
    const jar = new CookieJar();
    const { config, verifier, url } = await authorizationUrl();
    const callback = await signInAndConsent(server.issuer, url, { email, password }, 'allow', jar);
    const tokens = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, idTokenExpected: true });
    return { jar, config, tokens };
  }

  it('sends a person who is not signed in through the sign-in page, then back to /account', async () => {
    const jar = new CookieJar();
    const first = await request(jar, `${server.issuer}/account`);
    expect(first.status).toBe(302);
    expect(first.headers.get('location')).toMatch(/^\/auth\?client_id=tokenim-account/);
    const email = 'console@example.test';
    await createAccount(server.services.accountDeps, { email, password: 'console passphrase', emailVerified: true }, actor);
    let step = await follow(jar, server.issuer, `${server.issuer}/account`);
    const html = await step.response.text();
    const posted = await request(jar, `${step.url}/login`, { form: { email, password: 'console passphrase', _csrf: csrfFrom(html) } });
    step = await follow(jar, server.issuer, new URL(posted.headers.get('location')!, server.issuer).href);
    expect(step.url).toBe(`${server.issuer}/account`);
    expect(await step.response.text()).toContain('Signed in as console@example.test');
  });

  it('lists connected apps with their permissions; revoking one stops its refresh token', async () => {
    const { jar, config, tokens } = await signedIn('apps@example.test', 'apps passphrase');
    const page = await request(jar, `${server.issuer}/account`);
    const html = await page.text();
    expect(html).toContain(`data-connected-app="${web.clientId}"`);
    expect(html).toContain('Chat Web');
    expect(html).toContain('Send messages as you');
    const grantId = /action="\/account\/apps\/([^/]+)\/revoke"/.exec(html)![1]!;
    const revoked = await request(jar, `${server.issuer}/account/apps/${grantId}/revoke`, { form: { _csrf: csrfFrom(html) } });
    expect(revoked.status).toBe(303);
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await (await request(jar, `${server.issuer}/account`)).text()).not.toContain(`data-connected-app="${web.clientId}"`);
  });

  it('changes the password only with the current one, and ends the other sessions', async () => {
    const email = 'changer@example.test';
    const { jar } = await signedIn(email, 'first passphrase');
    const other = new CookieJar();
    await signInAndConsent(server.issuer, (await authorizationUrl()).url, { email, password: 'first passphrase' }, 'allow', other);
    expect((await request(other, `${server.issuer}/account`)).status).toBe(200);

    const html = await (await request(jar, `${server.issuer}/account`)).text();
    const wrong = await request(jar, `${server.issuer}/account/password`, { form: { current_password: 'nope', password: 'second passphrase', _csrf: csrfFrom(html) } });
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain('The current password is not right.');
    const changed = await request(jar, `${server.issuer}/account/password`, { form: { current_password: 'first passphrase', password: 'second passphrase', _csrf: csrfFrom(html) } });
    expect(changed.status).toBe(303);
    expect((await request(jar, `${server.issuer}/account`)).status).toBe(200); // this session stays
    expect((await request(other, `${server.issuer}/account`)).status).toBe(302); // the other one is signed out
  });

  it('changes the email address only after the new one is confirmed, and tells the old one', async () => {
    const { jar } = await signedIn('old.address@example.test', 'moving passphrase');
    const html = await (await request(jar, `${server.issuer}/account`)).text();
    const asked = await request(jar, `${server.issuer}/account/email`, { form: { email: 'New.Address@example.test', current_password: 'moving passphrase', _csrf: csrfFrom(html) } });
    expect(asked.status).toBe(303);
    expect(await server.services.stores.durable.accounts.findAccountByEmail('old.address@example.test')).toBeDefined();
    expect((await lastMailTo(server.dataDir, 'old.address@example.test', /changing/)).text).toContain('new.address@example.test');
    const confirm = (await lastMailTo(server.dataDir, 'new.address@example.test', /Confirm/)).links[0]!;
    expect((await fetch(confirm)).status).toBe(200);
    expect(await server.services.stores.durable.accounts.findAccountByEmail('new.address@example.test')).toBeDefined();
    expect(await server.services.stores.durable.accounts.findAccountByEmail('old.address@example.test')).toBeUndefined();
  });
});

describe('pages, headers and bad input', () => {
  const pages = ['/register', '/forgot-password', '/verify-email/resend', '/reset-password?token=nope', '/verify-email?token=nope',
    '/register/sent', '/forgot-password/sent', '/reset-password/done'];

  it.each(pages)('%s renders in English and Simplified Chinese, with the security headers', async (path) => {
    for (const [locale, lang] of [['en', 'en'], ['zh-CN', 'zh-CN']]) {
      const response = await fetch(`${server.issuer}${path}${path.includes('?') ? '&' : '?'}ui_locales=${locale}`);
      expect(response.status).toBeLessThan(500);
      expect(await response.text()).toContain(`<html lang="${lang}">`);
      expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('strict-transport-security')).toBeNull(); // http here; set under https
    }
  });

  it('uses Accept-Language when no language is chosen', async () => {
    const response = await fetch(`${server.issuer}/forgot-password`, { headers: { 'accept-language': 'zh-CN,zh;q=0.9' } });
    expect(await response.text()).toContain('重置密码');
  });

  it('sets cookies httpOnly and SameSite=Lax', async () => {
    const response = await fetch(`${server.issuer}/register`);
    const cookies = response.headers.getSetCookie();
    expect(cookies.length).toBeGreaterThan(0);
    for (const cookie of cookies) expect(cookie).toMatch(/httponly/i);
    for (const cookie of cookies) expect(cookie).toMatch(/samesite=lax/i);
  });

  const forms: [string, string][] = [['/register', '/register'], ['/forgot-password', '/forgot-password'],
    ['/verify-email/resend', '/verify-email/resend'], ['/register', '/reset-password']];
  const bodies = [
    '',
    'email=&password=&name=',
    `email=${'a'.repeat(5000)}&password=${'b'.repeat(5000)}`,
    'email[$ne]=x&password[]=1&password[]=2',
    'email=%FF%FE&password=%00',
    `name=${'x'.repeat(20_000)}`,
  ];
  it.each(forms)('POST %s → %s never answers 5xx on bad input', async (page, action) => {
    for (const body of bodies) {
      const jar = new CookieJar();
      const csrf = csrfFrom(await (await request(jar, `${server.issuer}${page}`)).text());
      const response = await fetch(`${server.issuer}${action}`, {
        method: 'POST', redirect: 'manual',
        headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
        body: `${body}${body ? '&' : ''}_csrf=${encodeURIComponent(csrf)}`,
      });
      expect(response.status).toBeLessThan(500);
      expect(await response.text()).not.toMatch(/\bat .+\.(js|ts):\d+/);
    }
  });
});
