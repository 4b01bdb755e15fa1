// prompt=select_account (OIDC Core §3.1.2.1) over HTTP: the account chooser for a signed-in
// person, "continue" and "use another account", the sign-in page when nobody is signed in, and
// prompt=none combined with it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { CookieJar, csrfFrom, follow, request, signInAndConsent } from '../helpers/browserless-login.ts';
import { authorizationRequest } from '../helpers/relying-party.ts';

const PASSWORD = 'correct horse battery staple';
const REDIRECT_URI = 'http://localhost/callback';
const actor = { kind: 'system', id: 'test' } as const;

let server: TestServer;
let app: { clientId: string; secret: string };
const people: Record<'ada' | 'bob', { id: string; email: string }> = { ada: { id: '', email: '' }, bob: { id: '', email: '' } };

beforeAll(async () => {
  server = await startTestServer();
  for (const name of ['ada', 'bob'] as const) {
    const email = `${name}.${Date.now()}@example.test`;
    const account = await createAccount(server.services.accountDeps, { email, password: PASSWORD, name, emailVerified: true }, actor);
    people[name] = { id: account.id, email };
  }
  const created = await createApplication(server.services.applicationDeps, { name: 'Chat Web', type: 'web', redirectUris: [REDIRECT_URI] }, actor);
  app = { clientId: created.application.clientId, secret: created.secret!.clientSecret };
});
afterAll(() => server?.close());

async function authorization(extra: Record<string, string> = {}) {
  const { url, redeem } = await authorizationRequest(server.issuer, app, REDIRECT_URI, extra);
  /** The account the code at `callback` was issued for. */
  const subjectOf = async (callback: string) => (await redeem(callback)).claims()?.sub;
  return { url: url.href, subjectOf };
}

/** A browser profile in which `who` is signed in (and has consented for the app). */
async function signedIn(who: 'ada' | 'bob'): Promise<CookieJar> {
  const jar = new CookieJar();
  const { url, subjectOf } = await authorization();
  expect(await subjectOf(await signInAndConsent(server.issuer, url, { email: people[who].email, password: PASSWORD }, 'allow', jar)))
    .toBe(people[who].id);
  return jar;
}

interface Page { url: string; status: number; html: string }

async function open(jar: CookieJar, url: string): Promise<Page> {
  const step = await follow(jar, server.issuer, url);
  return { url: step.url, status: step.response.status, html: step.url.startsWith(server.issuer) ? await step.response.text() : '' };
}

/** Posts the form whose action ends with `path` on `page` (with its CSRF token), then follows redirects. */
async function submit(jar: CookieJar, page: Page, path: string, form: Record<string, string>): Promise<Page> {
  const action = new RegExp(`<form method="post" action="([^"]*${path})"`).exec(page.html)?.[1];
  if (!action) throw new Error(`no form ${path} on ${page.url}: ${page.html.slice(0, 300)}`);
  const response = await request(jar, new URL(action, server.issuer).href, { form: { ...form, _csrf: csrfFrom(page.html) } });
  expect(response.status).toBe(303);
  return open(jar, new URL(response.headers.get('location')!, server.issuer).href);
}

/**
 * oidc-provider's own auto-submitted form (here: the logout of the previous account before another
 * signs in, lib/actions/authorization/resume.js), submitted as the browser's script would.
 */
async function submitAutoPost(jar: CookieJar, page: Page): Promise<Page> {
  const action = /<form method="post" action="([^"]+)">/.exec(page.html)?.[1];
  if (!action || !page.html.includes('document.forms[0].submit()')) throw new Error(`no auto-submitted form on ${page.url}`);
  const inputs = Object.fromEntries([...page.html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/>/g)].map((m) => [m[1]!, m[2]!]));
  const response = await request(jar, action, { form: inputs });
  expect(response.status).toBe(303);
  return open(jar, new URL(response.headers.get('location')!, server.issuer).href);
}

const isChooser = (page: Page) => page.html.includes('action="/interaction/') && page.html.includes('/select-account"');
const isLoginPage = (page: Page) => /<form method="post" action="[^"]+\/login"/.test(page.html);

describe('prompt=select_account', () => {
  it('with nobody signed in shows the sign-in page, and after it the code (no chooser)', async () => {
    const jar = new CookieJar();
    const { url, subjectOf } = await authorization({ prompt: 'select_account' });
    const page = await open(jar, url);
    expect(page.status).toBe(200);
    expect(isLoginPage(page)).toBe(true);
    expect(isChooser(page)).toBe(false);
    const callback = await signInAndConsent(server.issuer, url, { email: people.ada.email, password: PASSWORD }, 'allow', jar);
    expect(await subjectOf(callback)).toBe(people.ada.id);
  });

  it('with a session shows the chooser: who is signed in and "use another account"', async () => {
    const jar = await signedIn('ada');
    const page = await open(jar, (await authorization({ prompt: 'select_account' })).url);
    expect(page.status).toBe(200);
    expect(isChooser(page)).toBe(true);
    expect(page.html).toContain(`Continue as ${people.ada.email}`);
    expect(page.html).toMatch(/<button type="submit" name="account" value="current"/);
    expect(page.html).toMatch(/<button type="submit" name="account" value="another"[^>]*>Use another account</);
    expect(page.html).toContain('name="_csrf"');
    // In Chinese as well.
    const zh = await open(jar, (await authorization({ prompt: 'select_account', ui_locales: 'zh-CN' })).url);
    expect(zh.html).toContain(`以 ${people.ada.email} 继续`);
    expect(zh.html).toContain('使用其他账号');
  });

  it('"continue" ends with a code for the signed-in account, without the password', async () => {
    const jar = await signedIn('ada');
    const { url, subjectOf } = await authorization({ prompt: 'select_account' });
    const after = await submit(jar, await open(jar, url), '/select-account', { account: 'current' });
    expect(after.url.startsWith(REDIRECT_URI)).toBe(true);
    expect(await subjectOf(after.url)).toBe(people.ada.id);
  });

  it('"use another account" leads to the password page and ends with a code for the other account, who is then signed in', async () => {
    const jar = await signedIn('ada');
    const { url, subjectOf } = await authorization({ prompt: 'select_account' });
    const login = await submit(jar, await open(jar, url), '/select-account', { account: 'another' });
    expect(isLoginPage(login)).toBe(true);
    const logoutOfAda = await submit(jar, login, '/login', { email: people.bob.email, password: PASSWORD });
    const next = await submitAutoPost(jar, logoutOfAda);
    expect(isChooser(next)).toBe(false);
    // Consent if Bob has not given it to the app before (it is remembered per person and app).
    const after = next.url.startsWith(REDIRECT_URI) ? next : await submit(jar, next, '/consent', { decision: 'allow' });
    expect(await subjectOf(after.url)).toBe(people.bob.id);

    // The session now belongs to Bob: a silent request gets his code.
    const silent = await authorization({ prompt: 'none' });
    expect(await silent.subjectOf((await open(jar, silent.url)).url)).toBe(people.bob.id);
  });

  it('"use another account" and then the same account again keeps the session and ends with its code', async () => {
    const jar = await signedIn('ada');
    const { url, subjectOf } = await authorization({ prompt: 'select_account' });
    const login = await submit(jar, await open(jar, url), '/select-account', { account: 'another' });
    const after = await submit(jar, login, '/login', { email: people.ada.email, password: PASSWORD });
    expect(after.url.startsWith(REDIRECT_URI)).toBe(true);
    expect(await subjectOf(after.url)).toBe(people.ada.id);
  });

  it('refuses a choice that is neither (400) and a chooser post without the CSRF token (403)', async () => {
    const jar = await signedIn('ada');
    const page = await open(jar, (await authorization({ prompt: 'select_account' })).url);
    const action = new URL(/action="([^"]*\/select-account)"/.exec(page.html)![1]!, server.issuer).href;
    expect((await request(jar, action, { form: { account: 'bob', _csrf: csrfFrom(page.html) } })).status).toBe(400);
    expect((await request(jar, action, { form: { account: 'current' } })).status).toBe(403);
  });

  it('with prompt=none is refused with an error redirect: none must be used alone (OIDC Core §3.1.2.1)', async () => {
    const jar = await signedIn('ada');
    const { url } = await authorization({ prompt: 'none select_account' });
    const outcome = await open(jar, url);
    expect(outcome.url.startsWith(REDIRECT_URI)).toBe(true);
    expect(Object.fromEntries(new URL(outcome.url).searchParams)).toMatchObject({
      error: 'invalid_request', error_description: 'prompt none must only be used alone',
    });
  });
});
