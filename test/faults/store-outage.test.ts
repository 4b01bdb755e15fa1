// A store that is down gives 503 (not 500), nothing is half-written, and the server recovers
// without a restart when the store returns. Redis holds the short-lived artifacts here.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createApplication } from '../../src/applications/create-application.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis-server.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { CookieJar, csrfFrom, follow, request, signInPageUrl } from '../helpers/browserless-login.ts';
import { createAccount } from '../../src/accounts/create-account.ts';

const testRedis: TestRedis | undefined = process.env.REDIS_URL ? undefined : await startTestRedis();
let server: TestServer;
let web: string;
let bot: { id: string; secret: string };

(testRedis ? describe : describe.skip)('Redis outage (a private redis-server, stopped and restarted)', () => {
  beforeAll(async () => {
    server = await startTestServer({ redisUrl: testRedis!.url, redisKeyPrefix: testRedis!.prefix });
    const actor = { kind: 'system', id: 'test' } as const;
    web = (await createApplication(server.services.applicationDeps,
      { name: 'Web', type: 'web', redirectUris: ['http://localhost/callback'] }, actor)).application.clientId;
    const created = await createApplication(server.services.applicationDeps, { name: 'Bot', type: 'service', scope: 'message:send' }, actor);
    bot = { id: created.application.clientId, secret: created.secret!.clientSecret };
  });
  afterAll(async () => {
    await server?.close();
    await testRedis?.stop();
  });

  const authorize = () => fetch(signInPageUrl(server.issuer, web), { redirect: 'manual', headers: { accept: 'text/html' } });
  const clientCredentials = () => fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${bot.id}:${bot.secret}`).toString('base64')}` },
    body: 'grant_type=client_credentials&scope=message%3Asend',
  });

  it('while Redis is down: sign-in answers temporarily_unavailable (never a 500), tokens from the durable store still work; then it recovers', async () => {
    expect((await authorize()).headers.get('location')).toMatch(/^\/interaction\//);

    await testRedis!.stop();
    const down = await authorize();
    expect(down.status).not.toBe(500);
    const location = down.headers.get('location');
    if (location) {
      // RFC 6749 §4.1.2.1: the app is told, when its redirect URI is known.
      expect(new URL(location).searchParams.get('error')).toBe('temporarily_unavailable');
    } else {
      expect(down.status).toBe(503);
    }
    // Client credentials need no short-lived artifact: the outage does not reach them.
    expect((await clientCredentials()).status).toBe(200);
    expect((await fetch(`${server.issuer}/readyz`)).status).toBe(503);

    await testRedis!.restart!();
    const deadline = Date.now() + 10_000;
    let recovered = false;
    while (!recovered && Date.now() < deadline) {
      recovered = (await authorize()).headers.get('location')?.startsWith('/interaction/') ?? false;
      if (!recovered) await new Promise((r) => setTimeout(r, 200));
    }
    expect(recovered).toBe(true);
    expect((await fetch(`${server.issuer}/readyz`)).status).toBe(200);
  });

  it('mid-flow: a password posted while Redis is down gets a clear "try again" page, no stack trace; the sign-in then completes', async () => {
    const email = 'mid.flow@example.test';
    const password = 'redis may stop at any moment';
    await createAccount(server.services.accountDeps, { email, password, emailVerified: true }, { kind: 'system', id: 'test' });
    const jar = new CookieJar();
    const login = await follow(jar, server.issuer, signInPageUrl(server.issuer, web));
    const html = await login.response.text();
    expect(html).toContain('name="password"');

    await testRedis!.stop();
    const posted = await request(jar, `${login.url}/login`, { form: { email, password, _csrf: csrfFrom(html) }, headers: { accept: 'text/html' } });
    const page = await posted.text();
    expect(posted.status).toBe(503);
    expect(page).toContain('Try again in a moment');
    expect(page).not.toMatch(/\bat [\w.<>]+ \(|node_modules|Error:/); // no stack trace, no internals

    // This Redis keeps nothing across a restart (no append-only file here): the person starts again.
    await testRedis!.restart!();
    for (const deadline = Date.now() + 10_000; ;) {
      const restart = await follow(jar, server.issuer, signInPageUrl(server.issuer, web));
      const form = await restart.response.text();
      const again = form.includes('name="password"')
        ? await request(jar, `${restart.url}/login`, { form: { email, password, _csrf: csrfFrom(form) } }) : undefined;
      await again?.body?.cancel();
      if (again?.status === 303) break;
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 200));
    }
  });
});
