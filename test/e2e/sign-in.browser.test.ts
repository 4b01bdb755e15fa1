// A real browser (Chromium driven by playwright-core) walks the paths people take: register →
// mail link → sign in → consent → back to the app; the deny path; the reset path. Each page is
// also saved as a screenshot in both languages under test-output/screenshots/.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { lastMailTo } from '../helpers/outbox.ts';
import { capture, launchBrowser, screenshotBothLanguages, SCREENSHOT_DIR } from '../helpers/browser.ts';
import { codeAt } from '../helpers/mfa-flow.ts';

const REDIRECT_URI = 'http://localhost/callback';
const browser: Browser | undefined = await launchBrowser();
let server: TestServer;
let app: { clientId: string; secret: string };

beforeAll(async () => {
  server = await startTestServer();
  const created = await createApplication(server.services.applicationDeps,
    { name: 'TokenIM Web', type: 'web', redirectUris: [REDIRECT_URI] }, { kind: 'system', id: 'test' });
  app = { clientId: created.application.clientId, secret: created.secret!.clientSecret };
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function startAuthorization(locale = 'en') {
  const config = await client.discovery(new URL(server.issuer), app.clientId, undefined, client.ClientSecretBasic(app.secret),
    { execute: [client.allowInsecureRequests] });
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI, scope: 'openid email profile offline_access message:send', state, prompt: 'consent',
    ui_locales: locale, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  return { config, verifier, state, url: url.href };
}

/** A fresh browser profile whose visits to the app's redirect URI are answered (and recorded) here. */
async function newContext(locale?: string): Promise<{ context: BrowserContext; page: Page; callbacks: string[] }> {
  // `locale`: the browser's language, sent as Accept-Language.
  const context = await browser!.newContext(locale ? { locale } : {});
  const callbacks: string[] = [];
  await context.route(`${REDIRECT_URI}**`, (route) => {
    callbacks.push(route.request().url());
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>back in the app</h1>' });
  });
  return { context, page: await context.newPage(), callbacks };
}

async function signIn(page: Page, email: string, password: string) {
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', password);
  await page.click('button[type="submit"]:has-text("Sign in")');
}

/** Waits for the page (after a click or a redirect) to be the one with this heading. */
const seeHeading = (page: Page, text: string) => page.locator('h1', { hasText: text }).waitFor({ timeout: 10_000 });

const describeBrowser = browser ? describe : describe.skip;

describeBrowser('in a real browser', () => {
  it('register → mail link → sign in → consent → back to the app with a code that redeems', async () => {
    const { context, page, callbacks } = await newContext();
    const { config, verifier, state, url } = await startAuthorization();
    await page.goto(url);
    await seeHeading(page, 'Sign in to TokenIM');
    await screenshotBothLanguages(context, page, '01-login');

    await page.click('[data-action="register"]');
    await seeHeading(page, 'Create your TokenIM account');
    await screenshotBothLanguages(context, page, '02-register');
    await page.fill('input[name="name"]', 'Zhang Wei');
    await page.fill('input[name="email"]', 'zhang.wei@example.test');
    await page.fill('input[name="password"]', 'bamboo grows by the river');
    await page.click('button[type="submit"]');
    await seeHeading(page, 'Check your email');
    await screenshotBothLanguages(context, page, '03-register-sent');

    const mail = await lastMailTo(server.dataDir, 'zhang.wei@example.test', /Activate/);
    await page.goto(mail.links[0]!);
    await seeHeading(page, 'Email confirmed');
    await screenshotBothLanguages(context, page, '04-email-confirmed');

    await page.click('[data-action="continue"]');
    await signIn(page, 'zhang.wei@example.test', 'bamboo grows by the river');
    await seeHeading(page, 'Allow TokenIM Web?');
    expect(await page.textContent('[data-scope="message:send"]')).toBe('Send messages as you');
    await screenshotBothLanguages(context, page, '05-consent');

    await page.click('button[name="decision"][value="allow"]');
    await page.waitForURL(`${REDIRECT_URI}**`);
    expect(callbacks).toHaveLength(1);
    const tokens = await client.authorizationCodeGrant(config, new URL(callbacks[0]!), { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()).toMatchObject({ email: 'zhang.wei@example.test', email_verified: true });
    await context.close();
  });

  it('a wrong password shows the same clear message for any account; the page works in Chinese', async () => {
    const { context, page } = await newContext();
    await page.goto((await startAuthorization('zh-CN')).url);
    await seeHeading(page, '登录 TokenIM');
    await page.fill('input[name="email"]', 'nobody@example.test');
    await page.fill('input[name="password"]', 'not a real password');
    await page.click('button[type="submit"]:has-text("登录")');
    await page.locator('[role="alert"]').waitFor();
    expect(await page.textContent('[role="alert"]')).toBe('电子邮件或密码不正确。请检查后重试，或重置您的密码。');
    await screenshotBothLanguages(context, page, '06-login-error');
    await context.close();
  });

  it('deny → the app gets error=access_denied and no code', async () => {
    await createAccount(server.services.accountDeps,
      { email: 'li.na@example.test', password: 'plum blossoms in winter', emailVerified: true }, { kind: 'system', id: 'test' });
    const { context, page, callbacks } = await newContext();
    const { url, state } = await startAuthorization();
    await page.goto(url);
    await signIn(page, 'li.na@example.test', 'plum blossoms in winter');
    await page.click('button[name="decision"][value="deny"]');
    await page.waitForURL(`${REDIRECT_URI}**`);
    const callback = new URL(callbacks[0]!);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('state')).toBe(state);
    expect(callback.searchParams.has('code')).toBe(false);
    await context.close();
  });

  it('forgot password → mail link → new password → the old one fails, the new one signs in; the account page shows the app', async () => {
    await createAccount(server.services.accountDeps,
      { email: 'chen.jie@example.test', password: 'the old mountain path', emailVerified: true }, { kind: 'system', id: 'test' });
    const { context, page, callbacks } = await newContext();
    await page.goto((await startAuthorization()).url);
    await page.click('[data-action="forgot-password"]');
    await seeHeading(page, 'Reset your password');
    await screenshotBothLanguages(context, page, '07-forgot-password');
    await page.fill('input[name="email"]', 'chen.jie@example.test');
    await page.click('button[type="submit"]');
    await seeHeading(page, 'Check your email');

    const link = (await lastMailTo(server.dataDir, 'chen.jie@example.test', /Reset/)).links[0]!;
    await page.goto(link);
    await seeHeading(page, 'Choose a new password');
    await screenshotBothLanguages(context, page, '08-reset-password');
    await page.fill('input[name="password"]', 'a new river crossing');
    await page.click('button[type="submit"]');
    await seeHeading(page, 'Password changed');
    await screenshotBothLanguages(context, page, '09-reset-done');

    await page.goto((await startAuthorization()).url);
    await signIn(page, 'chen.jie@example.test', 'the old mountain path');
    await page.locator('[role="alert"]').waitFor();
    expect(await page.textContent('[role="alert"]')).toContain('The email or password is not right');
    await signIn(page, 'chen.jie@example.test', 'a new river crossing');
    await page.click('button[name="decision"][value="allow"]');
    await page.waitForURL(`${REDIRECT_URI}**`);
    expect(new URL(callbacks[0]!).searchParams.get('code')).toEqual(expect.any(String));

    await page.goto(`${server.issuer}/account`);
    await seeHeading(page, 'Your account');
    expect(await page.textContent(`[data-connected-app="${app.clientId}"]`)).toContain('TokenIM Web');
    await screenshotBothLanguages(context, page, '10-account');
    await context.close();
  });

  it('enrols two-factor on the security page, then signs in with password + code: the ID token has amr otp', async () => {
    await createAccount(server.services.accountDeps,
      { email: 'wang.fang@example.test', password: 'lanterns over the lake', emailVerified: true }, { kind: 'system', id: 'test' });
    const { context, page } = await newContext();
    await page.goto(`${server.issuer}/account/security`);
    await signIn(page, 'wang.fang@example.test', 'lanterns over the lake');
    await seeHeading(page, 'Security');
    await screenshotBothLanguages(context, page, '11-security');
    await page.click('[data-action="enable-mfa"]');
    await seeHeading(page, 'Set up two-factor sign-in');
    expect(await page.locator('a[href^="otpauth://"]').count()).toBe(1);
    expect(await page.locator('[data-qr-code] svg').count()).toBe(1);
    const secret = (await page.textContent('[data-totp-secret]'))!.trim();
    await screenshotBothLanguages(context, page, '12-mfa-enroll');
    await page.fill('input[name="current_password"]', 'lanterns over the lake');
    await page.fill('input[name="code"]', await codeAt(secret));
    await page.click('button[type="submit"]');
    await seeHeading(page, 'Your recovery codes');
    expect(await page.locator('[data-recovery-code]').count()).toBe(10);
    await capture(page, `${SCREENSHOT_DIR}13-recovery-codes-en.png`);
    await context.close();

    const second = await newContext();
    const { config, verifier, state, url } = await startAuthorization();
    await second.page.goto(url);
    await signIn(second.page, 'wang.fang@example.test', 'lanterns over the lake');
    await seeHeading(second.page, 'Two-factor sign-in');
    await screenshotBothLanguages(second.context, second.page, '14-mfa');
    await second.page.fill('input[name="code"]', await codeAt(secret, 1));
    await second.page.click('button[type="submit"]:has-text("Verify")');
    await seeHeading(second.page, 'Allow TokenIM Web?');
    await second.page.click('button[name="decision"][value="allow"]');
    await second.page.waitForURL(`${REDIRECT_URI}**`);
    const tokens = await client.authorizationCodeGrant(config, new URL(second.callbacks[0]!), { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()).toMatchObject({ amr: ['pwd', 'otp'], acr: 'urn:tokenim:acr:mfa' });
    await second.context.close();

    // Someone who knows only the password stops at the code page and opens /account: the account
    // pages trust only a finished sign-in, so the code page comes back, not the account.
    const third = await newContext();
    await third.page.goto((await startAuthorization()).url);
    await signIn(third.page, 'wang.fang@example.test', 'lanterns over the lake');
    await seeHeading(third.page, 'Two-factor sign-in');
    for (const path of ['/account', '/account/security']) {
      await third.page.goto(`${server.issuer}${path}`);
      await seeHeading(third.page, 'Two-factor sign-in');
      expect(await third.page.locator('input[name="current_password"]').count()).toBe(0);
    }
    await third.context.close();
  });

  /** What a person whose browsers speak `locale` sees on the walk below. */
  const CONFIRMATION_WALKS = {
    en: { signIn: 'Sign in to TokenIM', checkMail: 'Check your email', activate: /Activate/, confirmed: 'Email confirmed',
      continueHeading: 'Continue signing in', usedLink: 'This link does not work', person: ['Liu Yang', 'liu.yang@example.test'],
      password: 'paper boats on the canal' },
    'zh-CN': { signIn: '登录 TokenIM', checkMail: '请查收邮件', activate: /激活/, confirmed: '电子邮件已确认', continueHeading: '继续登录',
      usedLink: '此链接无效', person: ['赵敏', 'zhao.min@example.test'], password: 'lanterns over the west lake' },
  } as const;

  /**
   * Registers on a "laptop", confirms the email on a "phone" (another browser), continues there, then
   * opens the used link again; returns the phone at the used-link page. Each notice's kind is checked.
   */
  async function confirmOnAnotherDevice(locale: keyof typeof CONFIRMATION_WALKS, atContinue?: (page: Page, context: BrowserContext) => Promise<void>) {
    const walk = CONFIRMATION_WALKS[locale];
    const noticeKind = (page: Page) => page.getAttribute('[data-notice-kind]', 'data-notice-kind');
    const laptop = await newContext(locale === 'en' ? undefined : locale);
    await laptop.page.goto((await startAuthorization(locale)).url);
    await seeHeading(laptop.page, walk.signIn);
    await laptop.page.click('[data-action="register"]');
    await laptop.page.fill('input[name="name"]', walk.person[0]);
    await laptop.page.fill('input[name="email"]', walk.person[1]);
    await laptop.page.fill('input[name="password"]', walk.password);
    await laptop.page.click('button[type="submit"]');
    await seeHeading(laptop.page, walk.checkMail);
    expect(await noticeKind(laptop.page)).toBe('info');
    const mail = await lastMailTo(server.dataDir, walk.person[1], walk.activate);

    const phone = await newContext(locale === 'en' ? undefined : locale);
    await phone.page.goto(mail.links[0]!);
    await seeHeading(phone.page, walk.confirmed);
    expect(await noticeKind(phone.page)).toBe('success');
    await phone.page.click('[data-action="continue"]');
    await seeHeading(phone.page, walk.continueHeading);
    expect(await noticeKind(phone.page)).toBe('info');
    expect(await phone.page.textContent('main')).not.toContain('This sign-in page has expired');
    await atContinue?.(phone.page, phone.context);

    await phone.page.goto(mail.links[0]!);
    await seeHeading(phone.page, walk.usedLink);
    expect(await noticeKind(phone.page)).toBe('error');
    await laptop.context.close();
    return phone;
  }

  it('an email confirmed on another device says so and offers a fresh sign-in; notices look like what they are', async () => {
    const phone = await confirmOnAnotherDevice('en', async (page, context) => {
      expect(await page.textContent('[data-action="continue"]')).toBe('Go to TokenIM Web and sign in');
      await screenshotBothLanguages(context, page, '15-continue-on-another-device');
    });
    await screenshotBothLanguages(phone.context, phone.page, '16-link-already-used');
    await phone.context.close();
    // The same walk by someone whose browsers speak Chinese: every kind of notice in Chinese too.
    await (await confirmOnAnotherDevice('zh-CN')).context.close();
  });

  it('the provider\'s logout auto-submit runs under its CSP (only its own inline script, by hash)', async () => {
    const { context, page } = await newContext();
    const blocked: string[] = [];
    page.on('console', (message) => { if (/Content Security Policy/i.test(message.text())) blocked.push(message.text()); });
    await page.goto(`${server.issuer}/session/end`);
    await seeHeading(page, 'Signed out');
    expect(blocked).toEqual([]);
    await context.close();
  });
});
