// A Redis that stops answering (paused, busy with a long script, behind a network black hole) keeps
// its connection open: without a command timeout every request needing it would wait for the
// server's own request timeout. It answers 503 in bounded time, and recovers when Redis does.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApplication } from '../../src/applications/create-application.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis-server.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { signInPageUrl } from '../helpers/browserless-login.ts';

// A private redis-server only: pausing a shared REDIS_URL would stall the other suites.
const testRedis: TestRedis | undefined = process.env.REDIS_URL ? undefined : await startTestRedis();
const PAUSE_MS = 4000;
let server: TestServer;
let web: string;

(testRedis ? describe : describe.skip)('Redis that stops answering (CLIENT PAUSE from a second connection)', () => {
  beforeAll(async () => {
    server = await startTestServer({ redisUrl: testRedis!.url, redisKeyPrefix: testRedis!.prefix });
    web = (await createApplication(server.services.applicationDeps,
      { name: 'Web', type: 'web', redirectUris: ['http://localhost/callback'] }, { kind: 'system', id: 'test' })).application.clientId;
  });
  afterAll(async () => {
    await server?.close();
    await testRedis?.stop();
  });

  const authorize = () => fetch(signInPageUrl(server.issuer, web), { redirect: 'manual', headers: { accept: 'text/html' } });
  const timed = async <T>(call: () => Promise<T>) => {
    const started = performance.now();
    const result = await call();
    return { result, ms: performance.now() - started };
  };

  it('a sign-in start answers temporarily_unavailable within 3 s and /readyz 503 naming redis; then it recovers', async () => {
    expect((await authorize()).headers.get('location')).toMatch(/^\/interaction\//);

    const pauser = new Redis(testRedis!.url);
    await pauser.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL');
    pauser.disconnect();
    const stalled = await timed(authorize);
    expect(stalled.ms).toBeLessThan(3000);
    expect(stalled.result.status).not.toBe(500);
    const location = stalled.result.headers.get('location');
    if (location) {
      // RFC 6749 §4.1.2.1: the app is told, when its redirect URI is known.
      expect(new URL(location).searchParams.get('error')).toBe('temporarily_unavailable');
    } else {
      expect(stalled.result.status).toBe(503);
    }
    const ready = await timed(() => fetch(`${server.issuer}/readyz`));
    expect(ready.ms).toBeLessThan(3000);
    expect(ready.result.status).toBe(503);
    expect(await ready.result.json()).toEqual({ status: 'unavailable', stores: { sqlite: 'ok', redis: expect.not.stringMatching(/^ok$/) } });

    const deadline = Date.now() + PAUSE_MS + 10_000;
    let hasRecovered = false;
    while (!hasRecovered && Date.now() < deadline) {
      hasRecovered = (await authorize()).headers.get('location')?.startsWith('/interaction/') ?? false;
      if (!hasRecovered) await sleep(200);
    }
    expect(hasRecovered).toBe(true);
    expect((await fetch(`${server.issuer}/readyz`)).status).toBe(200);
  });
});
