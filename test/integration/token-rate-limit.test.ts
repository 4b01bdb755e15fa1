// Per-application rate limits at the token endpoint (issue 13 item 2): a count per client per clock
// minute that every instance shares (SQLite in embedded mode, Redis in Redis mode); over it, 429
// slow_down with Retry-After, one `client.throttled` ledger record per client per minute, and the
// day's refusals on the developer's application page.
import { afterAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import type { Config } from '../../src/config/schema.ts';
import { CookieJar, csrfFrom, follow, request } from '../helpers/browserless-login.ts';
import { signInToConsole } from '../helpers/console-session.ts';
import { startTestRedis } from '../helpers/redis-server.ts';
import { cli } from '../helpers/spawn-server.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';

const actor = { kind: 'system', id: 'test' } as const;
const testRedis = await startTestRedis();
const servers: TestServer[] = [];
const dataDir = makeTempDir('token-rate-limit');
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await testRedis?.stop();
  dataDir.remove();
});

async function start(options: Parameters<typeof startTestServer>[0]) {
  const server = await startTestServer(options);
  servers.push(server);
  return server;
}

/** The window is the clock minute: a case starts early in one, so that its requests share it. */
async function startOfFreshMinute() {
  const into = Date.now() % 60_000;
  if (into > 40_000) await sleep(60_000 - into + 50);
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/** client_credentials with HTTP Basic, or with the credentials in the form (client_secret_post). */
async function tokenRequest(server: TestServer, id: string, secret: string, how: 'basic' | 'post' = 'basic') {
  const form = new URLSearchParams({ grant_type: 'client_credentials', scope: 'message:send',
    ...(how === 'post' ? { client_id: id, client_secret: secret } : {}) });
  const response = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(how === 'basic' ? { authorization: basic(id, secret) } : {}) },
    body: form.toString(),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.json() as Record<string, unknown> };
}

const throttledEvents = (server: TestServer, clientId: string) =>
  server.services.stores.durable.audit.queryAuditEvents({ clientId, type: 'client.throttled', limit: 10 });

describe('token endpoint rate limit, embedded mode (two instances on one DATA_DIR)', () => {
  it('the CLI override holds at both: the 4th request of the minute is 429 slow_down, recorded once, shown to the developer', async () => {
    const env = { DATA_DIR: dataDir.path };
    const [a, b] = [await start({ env }), await start({ env })];
    const email = 'rate-owner@example.test';
    const password = 'a developer password';
    const owner = await createAccount(a.services.accountDeps, { email, password, name: 'Owner', emailVerified: true }, actor);
    const { application, secret } = await createApplication(a.services.applicationDeps,
      { name: 'Busy bot', type: 'service', scope: 'message:send', ownerEmail: email }, actor);
    const [id, key] = [application.clientId, secret!.clientSecret];

    const set = await cli(env, 'clients', 'set-rate-limit', '--client-id', id, '--per-minute', '3');
    expect(set).toEqual({ client_id: id, token_rate_limit_per_minute: 3, token_rate_limit_source: 'application' });

    await startOfFreshMinute();
    const allowed = [await tokenRequest(a, id, key), await tokenRequest(b, id, key), await tokenRequest(a, id, key, 'post')];
    expect(allowed.map((r) => r.status)).toEqual([200, 200, 200]);
    // Over the limit at the other instance, by Basic and by the form's client_id alike.
    for (const refused of [await tokenRequest(b, id, key), await tokenRequest(a, id, key, 'post')]) {
      expect(refused.status).toBe(429);
      expect(refused.body).toEqual({ error: 'slow_down', error_description: expect.stringContaining('3 token requests per minute') });
      expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
    }

    // One ledger record for the minute, whichever instance refused.
    const events = await throttledEvents(a, id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ outcome: 'failure', subject: owner.id, actor: { kind: 'client', id },
      details: { perMinute: 3 } });

    // The developer sees the day's refusals on the application's page.
    const jar = new CookieJar();
    const login = await follow(jar, a.issuer, `${a.issuer}/developers/applications/${id}`);
    const posted = await request(jar, `${login.url}/login`, { form: { email, password, _csrf: csrfFrom(await login.response.text()) } });
    const page = await follow(jar, a.issuer, new URL(posted.headers.get('location')!, a.issuer).href);
    const html = await page.response.text();
    expect(html).toContain('data-throttled-today="2"');
    expect(html).toContain('Throttled 2 times today');
    expect(html).toContain('data-rate-limit="3"');
  });

  it('an unknown client is not counted: invalid_client every time, never 429, no counter', async () => {
    const server = await start({ configure: (c) => ({ ...c, rateLimits: { tokenPerMinute: { service: 1, web: 1, native: 1 } } }) });
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await tokenRequest(server, 'tkm_nobody', 'whatever', 'post')).status);
    expect(statuses).toEqual([401, 401, 401]);
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    expect(await server.services.applicationDeps.tokenRateLimits.counters.findFailureCount(`token-rate:tkm_nobody:${minute}`))
      .toBeUndefined();
  });

  it('the admin console sets the limit; empty gives the type default back', async () => {
    const server = await start({});
    const { application } = await createApplication(server.services.applicationDeps,
      { name: 'Console-limited', type: 'service', scope: 'message:send' }, actor);
    const session = await signInToConsole(server, ['admin']);
    const pageUrl = `${server.issuer}/admin/applications/${application.clientId}`;
    const post = async (perMinute: string) => {
      const page = await request(session.jar, pageUrl);
      return request(session.jar, `${pageUrl}/rate-limit`, { form: { per_minute: perMinute, _csrf: csrfFrom(await page.text()) } });
    };
    const saved = await post('7');
    expect(saved.status).toBe(303);
    expect(saved.headers.get('location')).toContain('saved=rate_limit');
    const find = () => server.services.stores.durable.applications.findApplicationByClientId(application.clientId);
    expect((await find())?.tokenRateLimitPerMinute).toBe(7);
    expect(await (await request(session.jar, pageUrl)).text()).toContain('data-rate-limit="7"');
    expect((await post('lots')).status).toBe(400);
    expect((await post('')).status).toBe(303);
    expect((await find())?.tokenRateLimitPerMinute).toBeNull();
  });
});

(testRedis ? describe : describe.skip)('token endpoint rate limit, Redis mode (two instances on one Redis)', () => {
  it('the type default counts across instances: the 3rd request of the minute is refused at either', async () => {
    const prefix = `${testRedis!.prefix}rate:`;
    // Each instance has its own SQLite here (no MongoDB): one SECRET_KEY, and the application copied to both.
    const options = { redisUrl: testRedis!.url, redisKeyPrefix: prefix, env: { SECRET_KEY: 'k'.repeat(43) },
      configure: (c: Config) => ({ ...c, rateLimits: { tokenPerMinute: { ...c.rateLimits.tokenPerMinute, service: 2 } } }) };
    const [a, b] = [await start(options), await start(options)];
    const { application, secret } = await createApplication(a.services.applicationDeps,
      { name: 'Shared bot', type: 'service', scope: 'message:send' }, actor);
    await b.services.stores.durable.applications.insertApplication(application);
    const [id, key] = [application.clientId, secret!.clientSecret];
    await startOfFreshMinute();
    const statuses = [(await tokenRequest(a, id, key)).status, (await tokenRequest(b, id, key)).status];
    const refusedAtA = await tokenRequest(a, id, key);
    const refusedAtB = await tokenRequest(b, id, key, 'post');
    expect([...statuses, refusedAtA.status, refusedAtB.status]).toEqual([200, 200, 429, 429]);
    expect(refusedAtA.body.error).toBe('slow_down');
    expect(Number(refusedAtB.retryAfter)).toBeGreaterThanOrEqual(1);
    // Each instance keeps its own ledger here: one record between them.
    expect([...await throttledEvents(a, id), ...await throttledEvents(b, id)]).toHaveLength(1);
  });
});
