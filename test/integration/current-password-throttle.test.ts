// Guessing the current password on the signed-in pages counts like guessing it at sign-in (issue 8
// audit, item 1): the same per-account limits, 429 with Retry-After in the person's language, the
// right password refused during the lockout, and never more than 100 failures an hour.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAccount } from '../../src/accounts/create-account.ts';
import { verifyPassword } from '../../src/accounts/password-hash.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { CookieJar, csrfFrom, follow, openLoginForm, request } from '../helpers/browserless-login.ts';
import { slowPasswordHash } from '../helpers/throttle-attempts.ts';

const actor = { kind: 'system', id: 'test' } as const;
const PASSWORD = 'only the owner knows this';
const REDIRECT_URI = 'http://localhost/callback';
const servers: TestServer[] = [];
afterAll(() => Promise.all(servers.map((s) => s.close())));

let people = 0;
/** A new account on `server`, signed in to /account (password only); returns its jar and the page's CSRF token. */
async function signedIn(server: TestServer) {
  people += 1;
  const email = `guessed${people}@example.test`;
  const account = await createAccount(server.services.accountDeps, { email, password: PASSWORD, name: 'Owner', emailVerified: true }, actor);
  const jar = new CookieJar();
  const login = await follow(jar, server.issuer, `${server.issuer}/account`);
  const posted = await request(jar, `${login.url}/login`, { form: { email, password: PASSWORD, _csrf: csrfFrom(await login.response.text()) } });
  const page = await follow(jar, server.issuer, new URL(posted.headers.get('location')!, server.issuer).href);
  expect(page.url).toBe(`${server.issuer}/account`);
  return { email, id: account.id, jar, csrf: csrfFrom(await page.response.text()) };
}

const changePassword = (server: TestServer, person: { jar: CookieJar; csrf: string }, currentPassword: string) =>
  request(person.jar, `${server.issuer}/account/password`, {
    form: { current_password: currentPassword, password: 'a brand new passphrase', _csrf: person.csrf },
  });

describe('/account/password: wrong current passwords count against the sign-in limits (10 per account in 15 minutes)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    servers.push(server);
  });

  it('the 10th wrong one is 429 with Retry-After; then the right one is refused too, and the sign-in is locked as well', async () => {
    const person = await signedIn(server);
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 10; i += 1) {
      last = await changePassword(server, person, `wrong guess ${i}`);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([...Array(9).fill(400), 429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(800);
    expect(await last!.text()).toMatch(/Too many wrong passwords\. Try again in 1[45] minutes\./);

    // During the lockout the right password changes nothing: 429 again, in the person's language.
    await request(person.jar, `${server.issuer}/account?ui_locales=zh-CN`);
    const right = await changePassword(server, person, PASSWORD);
    expect(right.status).toBe(429);
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(800);
    expect(await right.text()).toMatch(/密码错误次数过多。请在 1[45] 分钟后重试。/);
    const stored = (await server.services.stores.durable.accounts.findAccountById(person.id))!;
    expect(await verifyPassword(PASSWORD, stored.passwordHash)).toBe(true);

    // The same check guards the email change: refused as well.
    const email = await request(person.jar, `${server.issuer}/account/email`,
      { form: { email: 'elsewhere@example.test', current_password: PASSWORD, _csrf: person.csrf } });
    expect(email.status).toBe(429);

    // One count per account: the guesses on /account locked the sign-in too.
    const { application } = await createApplication(server.services.applicationDeps,
      { name: 'Web', type: 'web', redirectUris: [REDIRECT_URI] }, actor);
    const attempt = await openLoginForm(server.issuer, application.clientId, person.email, REDIRECT_URI);
    expect((await attempt(PASSWORD)).status).toBe(429);
  });

  it('failures at sign-in count here too: after 9 failed sign-ins, the first wrong current password is 429', async () => {
    const person = await signedIn(server);
    const { application } = await createApplication(server.services.applicationDeps,
      { name: 'Web 2', type: 'web', redirectUris: [REDIRECT_URI] }, actor);
    const attempt = await openLoginForm(server.issuer, application.clientId, person.email, REDIRECT_URI);
    for (let i = 0; i < 9; i += 1) expect((await attempt(`wrong ${i}`)).status).toBe(401);
    expect((await changePassword(server, person, 'one more wrong guess')).status).toBe(429);
  });

  it('of 20 wrong current passwords sent at once, at most the limit (10) are checked (400); the rest are 429', async () => {
    // Each is counted before its (argon2) check, so they cannot all pass the lockout check together.
    // A check of about a second keeps all 20 in flight at once; a guess sent while they are (the
    // right password, 1 s later) is the 21st, past the limit: refused, as it would be after them.
    const person = await signedIn(server);
    await server.services.stores.durable.accounts.updateAccountById(person.id, { passwordHash: await slowPasswordHash(PASSWORD),
      updatedAt: new Date() });
    const guesses = Promise.all(Array.from({ length: 20 }, (_, i) => changePassword(server, person, `parallel guess ${i}`)));
    await sleep(1000);
    const right = await changePassword(server, person, PASSWORD);
    const answers = await guesses;
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 400).length).toBeLessThanOrEqual(10);
    expect(statuses.filter((status) => status !== 400 && status !== 429)).toEqual([]);
    for (const refused of answers.filter((answer) => answer.status === 429)) {
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(right.status).toBe(429);
    const stored = (await server.services.stores.durable.accounts.findAccountById(person.id))!;
    expect(await verifyPassword(PASSWORD, stored.passwordHash)).toBe(true);
  }, 60_000);

  it('a right current password is not counted: it goes through below the limit', async () => {
    const person = await signedIn(server);
    for (let i = 0; i < 5; i += 1) expect((await changePassword(server, person, `wrong guess ${i}`)).status).toBe(400);
    const done = await changePassword(server, person, PASSWORD);
    expect([done.status, done.headers.get('location')]).toEqual([303, '/account?saved=password']);
  });
});

describe('/account/password: never more than 100 failures an hour per account (ASVS 4 2.2.1), whatever the settings', () => {
  it('with a window too short for the per-account limit to trip, the 100th wrong password in the hour is 429', async () => {
    const server = await startTestServer({
      configure: (config) => ({ ...config,
        loginThrottle: { failuresPerAccount: 100, failuresPerIp: 100_000, windowSeconds: 1, blockSeconds: 1 } }),
    });
    servers.push(server);
    const person = await signedIn(server);
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 100; i += 1) {
      last = await changePassword(server, person, `guess number ${i}`);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([...Array(99).fill(400), 429]);
    // The hour's cap: blocked for most of an hour, not for the 1 s configured.
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(3000);
    expect((await changePassword(server, person, PASSWORD)).status).toBe(429);
  }, 120_000);
});
