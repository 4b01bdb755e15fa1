// Developer settings in a real browser (Chromium driven by playwright-core): create a service
// application, read its API key once, use it through openid-client, reload (the key is not shown
// again, nor is the form re-sent), rotate it (both keys work in the grace, the old one is refused as
// "replaced" after it), and delete the application (its tokens die at the example API within a
// second). Screenshots of each page in both languages.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { startRevocationAwareApi, type ExampleApi } from '../helpers/example-api.ts';
import { capture, launchBrowser, screenshotBothLanguages, SCREENSHOT_DIR } from '../helpers/browser.ts';

const browser: Browser | undefined = await launchBrowser();
const EMAIL = 'dev.li@example.test';
const PASSWORD = 'developers write the keys';
let server: TestServer;
let api: ExampleApi;

beforeAll(async () => {
  server = await startTestServer();
  await createAccount(server.services.accountDeps, { email: EMAIL, password: PASSWORD, emailVerified: true }, { kind: 'system', id: 'test' });
  api = await startRevocationAwareApi(server);
});
afterAll(async () => {
  await browser?.close();
  await api?.close();
  await server?.close();
});

/** A client_credentials token for the application with this key, through openid-client. */
async function tokenWith(clientId: string, secret: string) {
  const config = await client.discovery(new URL(server.issuer), clientId, undefined, client.ClientSecretBasic(secret),
    { execute: [client.allowInsecureRequests] });
  return client.clientCredentialsGrant(config, { scope: 'message:send' });
}

/** The token endpoint's answer to this key (status and description), without openid-client's throwing. */
async function tokenAnswer(clientId: string, secret: string) {
  const response = await fetch(`${server.issuer}/token`, {
    method: 'POST', body: 'grant_type=client_credentials&scope=message%3Asend',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded' },
  });
  return { status: response.status, body: await response.json() as Record<string, string> };
}

const sendMessage = (token: string) => fetch(`${api.url}/v1/messages`, {
  method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"text":"hi"}',
});

const seeHeading = (page: Page, text: string) => page.locator('h1', { hasText: text }).waitFor({ timeout: 10_000 });

const describeBrowser = browser ? describe : describe.skip;

describeBrowser('developer settings in a real browser', () => {
  it('create → key shown once → token → reload (not shown again) → rotate (grace, then replaced) → delete (tokens die within 1 s)', async () => {
    const context = await browser!.newContext();
    const page = await context.newPage();
    await page.goto(`${server.issuer}/developers`);
    await page.fill('input[name="email"]', EMAIL);
    await page.fill('input[name="password"]', PASSWORD);
    await page.click('button[type="submit"]:has-text("Sign in")');
    await seeHeading(page, 'Developer settings');
    await screenshotBothLanguages(context, page, '30-developers');

    await page.fill('input[name="name"]', 'Support bot');
    await page.check('input[name="scope"][value="message:send"]');
    await page.click('form[action="/developers/applications"] button[type="submit"]');
    await seeHeading(page, 'Application created');
    const clientId = (await page.textContent('[data-client-id]'))!.trim();
    const firstKey = (await page.textContent('[data-client-secret]'))!.trim();
    expect(firstKey).toMatch(/^tkm_sk_[A-Za-z0-9_-]{43}$/);
    await capture(page, `${SCREENSHOT_DIR}31-new-key-en.png`);

    const first = await tokenWith(clientId, firstKey);
    expect((await sendMessage(first.access_token)).status).toBe(201);

    // A reload asks for the key page again (POST/redirect/GET: the form is not re-sent) and gets the
    // application's page: the key is not shown again, a notice says it was shown once.
    expect(new URL(page.url()).pathname).toBe(`/developers/applications/${clientId}/new-key`);
    await page.reload();
    await seeHeading(page, 'Support bot');
    expect(await page.locator('[data-client-secret]').count()).toBe(0);
    expect(await page.content()).not.toContain(firstKey);
    expect(await page.textContent('[data-key-shown-once]')).toContain('was shown once');
    expect(await server.services.stores.durable.applications.listApplicationsByOwnerId(
      (await server.services.stores.durable.accounts.findAccountByEmail(EMAIL))!.id)).toHaveLength(1);

    await page.goto(`${server.issuer}/developers/applications/${clientId}`);
    await seeHeading(page, 'Support bot');
    expect(await page.locator('[data-client-secret]').count()).toBe(0); // shown once only
    expect(await page.content()).not.toContain(firstKey);
    await screenshotBothLanguages(context, page, '32-application');

    // Rotate in Chinese: the new-key page in the other language, and both keys work in the grace.
    await page.goto(`${server.issuer}/developers/applications/${clientId}?ui_locales=zh-CN`);
    await page.click('[data-action="rotate-secret"]');
    await page.locator('[data-client-secret]').waitFor();
    const secondKey = (await page.textContent('[data-client-secret]'))!.trim();
    expect(secondKey).not.toBe(firstKey);
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    await capture(page, `${SCREENSHOT_DIR}31-new-key-zh-CN.png`);
    // Reloaded, the rotation is not repeated (a third key would end the first one's grace): the notice, in Chinese.
    await page.reload();
    await page.locator('[data-key-shown-once]').waitFor();
    expect(await page.locator('[data-client-secret]').count()).toBe(0);
    expect(await page.textContent('[data-key-shown-once]')).toContain('只在创建或轮换后显示一次');
    expect((await server.services.stores.durable.applications.findApplicationByClientId(clientId))!.secrets).toHaveLength(2);
    expect((await tokenAnswer(clientId, firstKey)).status).toBe(200);
    const second = await tokenWith(clientId, secondKey);

    // "Revoke the old key now" ends the grace: the old key is refused as replaced.
    await page.goto(`${server.issuer}/developers/applications/${clientId}?ui_locales=en`);
    await page.click('[data-action="revoke-secret"]');
    await seeHeading(page, 'Support bot');
    const refused = await tokenAnswer(clientId, firstKey);
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('invalid_client');
    expect(refused.body.error_description).toMatch(/replaced/);
    expect((await tokenAnswer(clientId, secondKey)).status).toBe(200);

    // Delete: every token of the application dies at the resource server within a second.
    expect((await sendMessage(second.access_token)).status).toBe(201);
    await page.check('input[name="confirm"]');
    await page.click('[data-action="delete-application"]');
    await seeHeading(page, 'Developer settings');
    const deletedAt = Date.now();
    let status = 201;
    while (status !== 401 && Date.now() - deletedAt < 3000) {
      status = (await sendMessage(second.access_token)).status;
      if (status !== 401) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(status).toBe(401);
    expect(Date.now() - deletedAt).toBeLessThan(1000);
    expect((await sendMessage(first.access_token)).status).toBe(401);
    expect((await tokenAnswer(clientId, secondKey)).body.error_description).toMatch(/disabled/);
    await context.close();
  });
});
