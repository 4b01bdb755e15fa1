// What a new user sees around mailed links: the confirmation opened in another browser (or too
// late) says it succeeded and offers a fresh sign-in; notices look like what they are.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { CookieJar, csrfFrom, follow, request, signInAndConsent, signInPageUrl } from '../helpers/browserless-login.ts';
import { lastMailTo } from '../helpers/outbox.ts';

const REDIRECT_URI = 'http://localhost/callback';
let server: TestServer;
let clientId: string;

beforeAll(async () => {
  server = await startTestServer();
  ({ application: { clientId } } = await createApplication(server.services.applicationDeps,
    { name: 'Chat Web', type: 'web', redirectUris: [REDIRECT_URI] }, { kind: 'system', id: 'test' }));
});
afterAll(() => server.close());

const noticeKind = (html: string) => /data-notice-kind="(\w+)"/.exec(html)?.[1];
const continueLink = (html: string) => /<a href="([^"]+)" data-action="continue">/.exec(html)?.[1];

/** Starts a sign-in at the app, registers from its sign-in page, and returns the confirmation link. */
async function registerDuringSignIn(jar: CookieJar, email: string) {
  const login = await follow(jar, server.issuer, signInPageUrl(server.issuer, clientId, {}, REDIRECT_URI));
  const uid = /\/interaction\/([^/?#]+)/.exec(login.url)![1]!;
  const page = await request(jar, `${server.issuer}/register?interaction=${uid}`);
  const sent = await request(jar, `${server.issuer}/register`,
    { form: { email, password: 'a river of lanterns', name: 'Li', interaction: uid, _csrf: csrfFrom(await page.text()) } });
  expect(sent.headers.get('location')).toBe(`/register/sent?interaction=${uid}`);
  const sentPage = await (await request(jar, `${server.issuer}${sent.headers.get('location')}`)).text();
  expect(noticeKind(sentPage)).toBe('info');
  expect(continueLink(sentPage)).toBe(`/interaction/${uid}/continue`); // no dead end
  return { uid, link: (await lastMailTo(server.dataDir, email, /Activate/)).links[0]! };
}

describe('email confirmation and "continue"', () => {
  it('in the browser that started the sign-in, continue resumes it at the password page', async () => {
    const jar = new CookieJar();
    const { uid, link } = await registerDuringSignIn(jar, 'same.device@example.test');
    const confirmed = await request(jar, link);
    const html = await confirmed.text();
    expect([confirmed.status, noticeKind(html)]).toEqual([200, 'success']);
    expect(continueLink(html)).toBe(`/interaction/${uid}/continue`);
    const resumed = await follow(jar, server.issuer, `${server.issuer}/interaction/${uid}/continue`);
    expect(resumed.url).toBe(`${server.issuer}/interaction/${uid}`);
    expect(await resumed.response.text()).toContain(`action="/interaction/${uid}/login"`);
  });

  it('on another device the confirmation says it worked, and continue offers a fresh sign-in at the app, not "expired"', async () => {
    const { uid, link } = await registerDuringSignIn(new CookieJar(), 'other.device@example.test');
    const phone = new CookieJar();
    const confirmed = await (await request(phone, link)).text();
    expect([noticeKind(confirmed), continueLink(confirmed)]).toEqual(['success', `/interaction/${uid}/continue`]);
    expect(confirmed).toContain('Your email address is confirmed.');
    const page = await request(phone, `${server.issuer}/interaction/${uid}/continue`);
    const html = await page.text();
    expect([page.status, noticeKind(html)]).toEqual([200, 'info']);
    expect(html).toContain('start a fresh one');
    expect(html).not.toContain('confirmed'); // continue says nothing of what came before (it also follows "link sent")
    expect(html).not.toMatch(/expired\.|has expired\. Go back/);
    expect(continueLink(html)).toBe('http://localhost');
    expect(html).toContain('Go to Chat Web and sign in');
  });

  it('when the sign-in is unknown (long expired), the fresh sign-in is the account page; in Chinese too', async () => {
    const page = await request(new CookieJar(), `${server.issuer}/interaction/long-gone-interaction/continue`,
      { headers: { 'accept-language': 'zh-CN' } });
    const html = await page.text();
    expect([page.status, noticeKind(html), continueLink(html)]).toEqual([200, 'info', '/account']);
    expect(html).toContain('你之前开始的登录在另一个浏览器中或已过期');
  });
});

describe('notices have a kind, and each looks like it', () => {
  it('a used link is an error (400, role=alert); a sent link is information; a new password is a success', async () => {
    const { link } = await registerDuringSignIn(new CookieJar(), 'kinds@example.test');
    expect((await fetch(link)).status).toBe(200);
    const used = await fetch(link);
    const usedHtml = await used.text();
    expect([used.status, noticeKind(usedHtml)]).toEqual([400, 'error']);
    expect(usedHtml).toContain('class="notice error" role="alert"');
    const resetInvalid = await fetch(`${server.issuer}/reset-password?token=${'x'.repeat(43)}`, { headers: { 'accept-language': 'zh-CN' } });
    expect([resetInvalid.status, noticeKind(await resetInvalid.text())]).toEqual([400, 'error']);
    const sent = await (await fetch(`${server.issuer}/forgot-password/sent`)).text();
    expect([noticeKind(sent), continueLink(sent)]).toEqual(['info', '/account']);
    const done = await (await fetch(`${server.issuer}/reset-password/done`)).text();
    expect(noticeKind(done)).toBe('success');
    expect(done).toContain('class="notice success" role="status"');
  });
});

describe('the provider\'s error pages speak the person\'s language, with the OAuth code visible', () => {
  const page = async (url: string, language: string) => {
    const response = await fetch(url, { headers: { 'accept-language': language, accept: 'text/html' } });
    const html = await response.text();
    return { status: response.status, html, code: /data-error-code>([^<]+)</.exec(html)?.[1], lang: /<html lang="([^"]+)"/.exec(html)?.[1] };
  };

  it.each([
    ['an unknown client', () => `${server.issuer}/auth?client_id=nobody&response_type=code&scope=openid`, 'invalid_client', '此应用未在 TokenIM 注册'],
    ['an unregistered redirect_uri', () => signInPageUrl(server.issuer, clientId, {}, 'https://evil.example/cb'), 'invalid_redirect_uri', '未注册的地址'],
    ['a repeated parameter', () => `${signInPageUrl(server.issuer, clientId, {}, REDIRECT_URI)}&client_id=${clientId}`, 'invalid_request', '重复了'],
    ['an expired sign-in page', () => `${server.issuer}/auth/gone-interaction`, 'invalid_request', '此登录页面已过期'],
  ])('%s', async (_label, url, code, chinese) => {
    const zh = await page(url(), 'zh-CN');
    expect([zh.status, zh.code, zh.lang]).toEqual([400, code, 'zh-CN']);
    expect(zh.html).toContain(chinese);
    expect(zh.html).toMatch(/：<code data-error-code>/); // the label's colon is full-width too
    const en = await page(url(), 'en');
    expect(en.code).toBe(code);
    expect(en.html).not.toMatch(/[\u4e00-\u9fff]{4}/); // no Chinese sentence on the English page (the switch says 中文)
  });
});

describe('small wording', () => {
  it('/account names the person\'s roles by their labels, in both languages; sign-out offers a way back', async () => {
    await createAccount(server.services.accountDeps, { email: 'roles@example.test', password: 'roles and labels', emailVerified: true,
      roles: ['support'] }, { kind: 'system', id: 'test' });
    const jar = new CookieJar();
    await signInAndConsent(server.issuer, signInPageUrl(server.issuer, clientId, { prompt: 'consent' }, REDIRECT_URI),
      { email: 'roles@example.test', password: 'roles and labels' }, 'allow', jar);
    expect(await (await request(jar, `${server.issuer}/account`)).text()).toContain('Your roles: Support agent');
    expect(await (await request(jar, `${server.issuer}/account`, { headers: { 'accept-language': 'zh-CN' } })).text())
      .toContain('你的角色：客服');

    const question = await (await request(jar, `${server.issuer}/session/end`)).text();
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(question)![1]!;
    const confirmed = await request(jar, `${server.issuer}/session/end/confirm`, { form: { xsrf, logout: 'yes' } });
    const done = await follow(jar, server.issuer, new URL(confirmed.headers.get('location')!, server.issuer).href);
    expect(continueLink(await done.response.text())).toBe('/account');
  });

  it('a withheld permission names the role that grants it by its label', async () => {
    await createAccount(server.services.accountDeps, { email: 'member.zh@example.test', password: 'members only here', emailVerified: true },
      { kind: 'system', id: 'test' });
    const jar = new CookieJar();
    const login = await follow(jar, server.issuer, signInPageUrl(server.issuer, clientId,
      { prompt: 'consent', scope: 'openid calls:read', ui_locales: 'zh-CN' }, REDIRECT_URI));
    const posted = await request(jar, `${login.url}/login`,
      { form: { email: 'member.zh@example.test', password: 'members only here', _csrf: csrfFrom(await login.response.text()) } });
    const consent = await (await follow(jar, server.issuer, new URL(posted.headers.get('location')!, server.issuer).href)).response.text();
    expect(consent).toMatch(/data-withheld-scope="calls:read"[^<]*客服/);
    expect(consent).not.toMatch(/data-withheld-scope="calls:read"[^<]*support/);
  });

  it('Chinese text uses full-width punctuation', () => {
    const values: string[] = [];
    const walk = (node: unknown): void => {
      if (typeof node === 'string') values.push(node);
      else if (node && typeof node === 'object') Object.values(node).forEach(walk);
    };
    walk(JSON.parse(readFileSync(new URL('../../views/locales/zh-CN.json', import.meta.url), 'utf8')));
    // Half-width , : ; ! ? ( ) next to Chinese text (URLs, codes and placeholders do not count).
    expect(values.filter((text) => /[\u4e00-\u9fff][,:;!?()]|[,:;!?()][\u4e00-\u9fff]/.test(text))).toEqual([]);
  });
});
