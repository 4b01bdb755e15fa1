// In Redis mode, a used TOTP time step is remembered in the durable store: flushing Redis
// (sessions, interactions, counters) does not make an old code usable again.
import { afterAll, describe, expect, it } from '@jest/globals';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { startTestRedis } from '../helpers/redis-server.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { CookieJar } from '../helpers/browserless-login.ts';
import { codeAt, createMfaFlow } from '../helpers/mfa-flow.ts';

const testRedis = await startTestRedis();
let server: TestServer | undefined;
afterAll(async () => {
  await server?.close();
  await testRedis?.stop();
});

(testRedis ? describe : describe.skip)('two-factor replay protection in Redis mode', () => {
  it('a code used once is refused after Redis is flushed', async () => {
    server = await startTestServer({ redisUrl: testRedis!.url, redisKeyPrefix: `${testRedis!.prefix}mfa:` });
    const actor = { kind: 'system', id: 'test' } as const;
    const { application, secret: clientSecret } = await createApplication(server.services.applicationDeps,
      { name: 'Web', type: 'web', redirectUris: ['http://localhost/callback'] }, actor);
    await createAccount(server.services.accountDeps, { email: 'flush@example.test', password: 'flush proof passphrase', emailVerified: true }, actor);
    const flow = createMfaFlow(server, { clientId: application.clientId, secret: clientSecret!.clientSecret },
      'http://localhost/callback', 'flush proof passphrase');
    const { secret } = await flow.enrol('flush@example.test');
    const code = await codeAt(secret, 1);

    const jar = new CookieJar();
    expect((await flow.post(jar, await flow.afterPassword('flush@example.test', jar), '/mfa', { code })).postStatus).toBe(303);
    await server.services.stores.redis!.flushall();
    const again = new CookieJar();
    expect((await flow.post(again, await flow.afterPassword('flush@example.test', again), '/mfa', { code })).postStatus).toBe(401);
  });
});
