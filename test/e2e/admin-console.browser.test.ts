// The admin console in a real browser (issue 11, acceptance): an admin signs in and enrols two-factor
// on the way, finds a member's sign-in in the ledger, answers "who can read call records?", revokes
// the member's authorization, and then the app's refresh token fails and its access token dies at the
// example API within 1 s. Screenshots of each console page in both languages.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { startRevocationAwareApi, type ExampleApi } from '../helpers/example-api.ts';
import { launchBrowser, screenshotBothLanguages } from '../helpers/browser.ts';
import { signInAndConsent } from '../helpers/browserless-login.ts';
import { authorizationRequest } from '../helpers/relying-party.ts';
import { codeAt } from '../helpers/mfa-flow.ts';

const browser: Browser | undefined = await launchBrowser();
const actor = { kind: 'system', id: 'test' } as const;
const ADMIN = { email: 'admin.zhao@example.test', password: 'the console is ours alone' };
const MEMBER = { email: 'agent.wu@example.test', password: 'support agents read calls' };
const REDIRECT_URI = 'http://localhost/callback';
let server: TestServer;
let api: ExampleApi;
let app: { clientId: string; secret: string };

beforeAll(async () => {
  server = await startTestServer();
  await createAccount(server.services.accountDeps, { ...ADMIN, name: 'Zhao', emailVerified: true, roles: ['admin'] }, actor);
  await createAccount(server.services.accountDeps, { ...MEMBER, name: 'Wu', emailVerified: true, roles: ['support'] }, actor);
  const created = await createApplication(server.services.applicationDeps,
    { name: 'Call centre', type: 'web', scope: 'calls:read message:send', redirectUris: [REDIRECT_URI] }, actor);
  app = { clientId: created.application.clientId, secret: created.secret!.clientSecret };
  api = await startRevocationAwareApi(server);
});
afterAll(async () => {
  await browser?.close();
  await api?.close();
  await server?.close();
});

const seeHeading = (page: Page, text: string) => page.locator('h1', { hasText: text }).waitFor({ timeout: 10_000 });
const readCalls = (token: string) => fetch(`${api.url}/v1/calls`, { headers: { authorization: `Bearer ${token}` } });

(browser ? describe : describe.skip)('the admin console in a real browser', () => {
  it('sign in with enrolment → the member\'s sign-in in the ledger → who can read call records → revoke → tokens die', async () => {
    // The member signs in to the call-centre app, which can read call records for them.
    const request = await authorizationRequest(server.issuer, app, REDIRECT_URI,
      { scope: 'openid offline_access calls:read', prompt: 'consent' });
    const tokens = await request.redeem(await signInAndConsent(server.issuer, request.url.href, MEMBER));
    expect((await readCalls(tokens.access_token)).status).toBe(200);

    const context = await browser!.newContext();
    const page = await context.newPage();
    await page.goto(`${server.issuer}/admin`);
    await page.fill('input[name="email"]', ADMIN.email);
    await page.fill('input[name="password"]', ADMIN.password);
    await page.click('button[type="submit"]');
    // The admin role requires two-factor sign-in: enrolment comes first, with the password again.
    const secret = (await page.locator('[data-totp-secret]').textContent({ timeout: 10_000 }))!.trim();
    await page.fill('input[name="current_password"]', ADMIN.password);
    await page.fill('input[name="code"]', await codeAt(secret));
    await page.click('button[type="submit"]');
    await page.locator('[data-recovery-code]').first().waitFor();
    await page.click('[data-action="continue"]');
    await seeHeading(page, 'Users');
    await screenshotBothLanguages(context, page, '40-admin-users');
    await page.click(`a[data-user-email]:has-text("${MEMBER.email}")`);
    await page.locator('h1', { hasText: MEMBER.email }).or(page.locator('h1', { hasText: 'Wu' })).first().waitFor();
    await screenshotBothLanguages(context, page, '41-admin-user');

    // The ledger: the member's sign-in, found by their email.
    await page.goto(`${server.issuer}/admin/audit`);
    await page.fill('input[name="q"]', MEMBER.email);
    await page.click('form[data-form="ledger-search"] button[type="submit"]');
    const signIn = page.locator('tr[data-type="login.succeeded"]');
    await signIn.first().waitFor();
    expect(await signIn.first().locator('[data-subject]').textContent()).toBe(MEMBER.email);
    await screenshotBothLanguages(context, page, '42-admin-ledger');

    // Who can read call records?
    await page.goto(`${server.issuer}/admin/authorizations`);
    await page.selectOption('select[name="permission"]', 'calls:read').catch(() => page.fill('input[name="permission"]', 'calls:read'));
    await page.click('form[data-form="authorizations-filter"] button[type="submit"]');
    const row = page.locator(`tr[data-person="${MEMBER.email}"][data-client="${app.clientId}"]`);
    await row.waitFor();
    expect(await row.locator('[data-scope="calls:read"]').count()).toBe(1);
    await screenshotBothLanguages(context, page, '43-admin-authorizations');

    // Revoke it: the refresh token fails, the access token dies at the API within 1 s.
    await row.locator('[data-action="revoke-authorization"]').click();
    await row.waitFor({ state: 'detached' });
    const revokedAt = Date.now();
    for (;;) {
      if ((await readCalls(tokens.access_token)).status === 401) break;
      expect(Date.now() - revokedAt).toBeLessThan(1000);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await expect(client.refreshTokenGrant(request.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });

    await page.goto(`${server.issuer}/admin/applications`);
    await seeHeading(page, 'Applications');
    await screenshotBothLanguages(context, page, '44-admin-applications');
    await page.click(`tr[data-application="${app.clientId}"] a`);
    await page.locator('h1', { hasText: 'Call centre' }).waitFor();
    await screenshotBothLanguages(context, page, '45-admin-application');
    await context.close();
  }, 90_000);
});
