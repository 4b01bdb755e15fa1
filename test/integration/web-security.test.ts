// Session fixation and transport security of the pages (ASVS 5 3.3, 3.4, 7.2.4).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { CookieJar, request, signInAndConsent, signInPageUrl } from '../helpers/browserless-login.ts';

const actor = { kind: 'system', id: 'test' } as const;
let server: TestServer;
let clientId: string;

beforeAll(async () => {
  server = await startTestServer({ env: { TRUST_PROXY: 'true' } });
  const { application } = await createApplication(server.services.applicationDeps,
    { name: 'Web', type: 'web', redirectUris: ['http://localhost/callback'] }, actor);
  clientId = application.clientId;
  await createAccount(server.services.accountDeps, { email: 'fix@example.test', password: 'fixation passphrase', emailVerified: true }, actor);
});
afterAll(() => server.close());

const authUrl = (prompt?: string) => signInPageUrl(server.issuer, clientId, prompt ? { prompt } : {});

const sessionCookie = (jar: CookieJar) => /(?:^|; )_session=([^;]+)/.exec(jar.header())?.[1];
/** The session cookie and its signature, as a browser would send them. */
const sessionCookies = (jar: CookieJar) => jar.header().split('; ').filter((c) => /^_session(\.sig)?=/.test(c)).join('; ');

describe('sessions', () => {
  it('a new session id at every sign-in: the id from before no longer signs anyone in', async () => {
    const jar = new CookieJar();
    await signInAndConsent(server.issuer, authUrl(), { email: 'fix@example.test', password: 'fixation passphrase' }, 'allow', jar);
    const first = sessionCookie(jar);
    const firstCookies = sessionCookies(jar);
    expect(first).toEqual(expect.any(String));
    expect(firstCookies).toContain('_session.sig=');
    expect((await fetch(`${server.issuer}/account`, { headers: { cookie: firstCookies }, redirect: 'manual' })).status).toBe(200);
    await signInAndConsent(server.issuer, authUrl('login'), { email: 'fix@example.test', password: 'fixation passphrase' }, 'allow', jar);
    const second = sessionCookie(jar);
    expect(second).toEqual(expect.any(String));
    expect(second).not.toBe(first);
    // The old id, replayed with its valid signature, is nobody's session any more.
    const replay = await fetch(`${server.issuer}/account`, { headers: { cookie: firstCookies }, redirect: 'manual' });
    expect(replay.status).toBe(302);
  });
});

describe('under https (behind a trusted proxy)', () => {
  const viaTls = { 'x-forwarded-proto': 'https' };

  it('sends HSTS and marks cookies Secure', async () => {
    const response = await fetch(`${server.issuer}/register`, { headers: viaTls });
    expect(response.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    const cookies = response.headers.getSetCookie();
    expect(cookies.length).toBeGreaterThan(0);
    for (const cookie of cookies) expect(cookie).toMatch(/; secure/i);
  });

  it('the provider\'s cookies are Secure too', async () => {
    const jar = new CookieJar();
    const response = await request(jar, authUrl(), { headers: viaTls });
    const cookies = response.headers.getSetCookie();
    expect(cookies.some((c) => c.startsWith('_interaction='))).toBe(true);
    for (const cookie of cookies) expect(cookie).toMatch(/; secure/i);
  });

  it('without the proxy header (plain http) there is no HSTS', async () => {
    expect((await fetch(`${server.issuer}/register`)).headers.get('strict-transport-security')).toBeNull();
  });
});
