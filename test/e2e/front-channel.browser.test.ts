// In a real browser: an app on another site (http://localhost, the issuer is http://127.0.0.1)
// sends the authorization request and the logout request as form posts (OIDC Core §3.1.2.1,
// RP-Initiated Logout 1.0 §2), and the SameSite=Lax session is found after the 303; the account
// chooser of prompt=select_account (screenshots in both languages).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { launchBrowser, screenshotBothLanguages } from '../helpers/browser.ts';
import { authorizationRequest } from '../helpers/relying-party.ts';

const APP_ORIGIN = 'http://localhost';
const REDIRECT_URI = `${APP_ORIGIN}/callback`;
const SIGNED_OUT_URI = `${APP_ORIGIN}/signed-out`;
const EMAIL = 'wang.fang@example.test';
const PASSWORD = 'lanterns over the old bridge';
const browser: Browser | undefined = await launchBrowser();
let server: TestServer;
let app: { clientId: string; secret: string };

beforeAll(async () => {
  server = await startTestServer();
  const actor = { kind: 'system', id: 'test' } as const;
  await createAccount(server.services.accountDeps, { email: EMAIL, password: PASSWORD, name: 'Wang Fang', emailVerified: true }, actor);
  const created = await createApplication(server.services.applicationDeps,
    { name: 'TokenIM Web', type: 'web', redirectUris: [REDIRECT_URI], postLogoutRedirectUris: [SIGNED_OUT_URI] }, actor);
  app = { clientId: created.application.clientId, secret: created.secret!.clientSecret };
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const authorization = (extra: Record<string, string> = {}) => authorizationRequest(server.issuer, app, REDIRECT_URI, extra);

/**
 * A browser profile with the app's own pages on http://localhost: its callback and signed-out
 * pages are recorded, and /post serves a page whose script posts `form` to `action` at once, as an
 * app's "sign in" or "sign out" button would.
 */
async function newContext(): Promise<{ context: BrowserContext; page: Page; visits: string[]; postFrom: (action: string, form: URLSearchParams) => Promise<void> }> {
  const context = await browser!.newContext();
  const visits: string[] = [];
  let posting = '';
  await context.route(`${APP_ORIGIN}/**`, (route) => {
    const url = route.request().url();
    if (url === `${APP_ORIGIN}/post`) return route.fulfill({ status: 200, contentType: 'text/html', body: posting });
    visits.push(url);
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>back in the app</h1>' });
  });
  const page = await context.newPage();
  const postFrom = async (action: string, form: URLSearchParams) => {
    const inputs = [...form].map(([name, value]) => `<input type="hidden" name="${name}" value="${value.replace(/"/g, '&quot;')}">`).join('');
    posting = `<form method="post" action="${action}">${inputs}</form><script>document.forms[0].submit()</script>`;
    await page.goto(`${APP_ORIGIN}/post`);
  };
  return { context, page, visits, postFrom };
}

const seeHeading = (page: Page, text: string) => page.locator('h1', { hasText: text }).waitFor({ timeout: 10_000 });

async function signInThroughPages(page: Page, url: string) {
  await page.goto(url);
  await page.fill('input[name="email"]', EMAIL);
  await page.fill('input[name="password"]', PASSWORD);
  await page.click('button[type="submit"]:has-text("Sign in")');
  // Consent is asked the first time only (it is remembered for the person and the app).
  const allow = page.locator('button[name="decision"][value="allow"]');
  await Promise.race([page.waitForURL(`${REDIRECT_URI}**`), allow.waitFor()]);
  if (!page.url().startsWith(REDIRECT_URI)) await allow.click();
  await page.waitForURL(`${REDIRECT_URI}**`);
}

const describeBrowser = browser ? describe : describe.skip;

describeBrowser('in a real browser, from an app on another site', () => {
  it('a form post to /auth with prompt=none finds the session after the 303 and returns a code', async () => {
    const { context, page, visits, postFrom } = await newContext();
    const first = await authorization();
    await signInThroughPages(page, first.url.href);
    const signedIn = await first.redeem(visits.pop()!);

    const silent = await authorization({ prompt: 'none' });
    await postFrom(`${server.issuer}/auth`, silent.url.searchParams);
    await page.waitForURL(`${REDIRECT_URI}**`);
    const callback = new URL(visits.pop()!);
    expect(callback.searchParams.get('error')).toBeNull();
    const tokens = await silent.redeem(callback.href);
    expect(tokens.claims()?.sub).toBe(signedIn.claims()?.sub);
    await context.close();
  });

  it('a form post to /session/end with id_token_hint shows the logout page; confirming returns to the app with its state', async () => {
    const { context, page, visits, postFrom } = await newContext();
    const first = await authorization();
    await signInThroughPages(page, first.url.href);
    const tokens = await first.redeem(visits.pop()!);

    const logout = client.buildEndSessionUrl(first.config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: SIGNED_OUT_URI, state: 's-42' });
    await postFrom(`${server.issuer}/session/end`, logout.searchParams);
    await seeHeading(page, 'Sign out');
    await page.click('button[name="logout"][value="yes"]');
    await page.waitForURL(`${SIGNED_OUT_URI}**`);
    expect(visits.pop()).toBe(`${SIGNED_OUT_URI}?state=s-42`);

    // Signed out: the next sign-in asks for the password.
    await page.goto((await authorization()).url.href);
    await seeHeading(page, 'Sign in to TokenIM');
    await context.close();
  });

  it('prompt=select_account shows the account chooser; "continue" returns a code for the same account', async () => {
    const { context, page, visits } = await newContext();
    const first = await authorization();
    await signInThroughPages(page, first.url.href);
    const signedIn = await first.redeem(visits.pop()!);

    const choose = await authorization({ prompt: 'select_account' });
    await page.goto(choose.url.href);
    await seeHeading(page, 'Choose an account');
    expect(await page.textContent('[data-action="continue-as"]')).toBe(`Continue as ${EMAIL}`);
    await screenshotBothLanguages(context, page, '20-select-account');
    await page.click('[data-action="continue-as"]');
    await page.waitForURL(`${REDIRECT_URI}**`);
    expect((await choose.redeem(visits.pop()!)).claims()?.sub).toBe(signedIn.claims()?.sub);
    await context.close();
  });
});
