// In Redis mode the sign-in failure counters live in Redis: limits hold across instances.
import { afterAll, describe, expect, it } from '@jest/globals';
import { createApplication } from '../../src/applications/create-application.ts';
import { startTestRedis } from '../helpers/redis-server.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { openLoginForm } from '../helpers/browserless-login.ts';

const testRedis = await startTestRedis();
const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await testRedis?.stop();
});

async function loginPage(server: TestServer) {
  const { application } = await createApplication(server.services.applicationDeps,
    { name: 'Web', type: 'web', redirectUris: ['http://localhost/callback'] }, { kind: 'system', id: 'test' });
  return openLoginForm(server.issuer, application.clientId, 'shared@example.test');
}

(testRedis ? describe : describe.skip)('login throttling across two instances sharing Redis', () => {
  it('failures at either instance count together: the 10th overall is refused with 429', async () => {
    const prefix = `${testRedis!.prefix}throttle:`;
    servers.push(await startTestServer({ redisUrl: testRedis!.url, redisKeyPrefix: prefix }));
    servers.push(await startTestServer({ redisUrl: testRedis!.url, redisKeyPrefix: prefix }));
    const [atA, atB] = await Promise.all(servers.map(loginPage));
    const statuses: number[] = [];
    for (let i = 0; i < 10; i += 1) statuses.push((await (i % 2 ? atB! : atA!)(`wrong ${i}`)).status);
    expect(statuses).toEqual([...Array(9).fill(401), 429]);
    expect((await atA!('another')).status).toBe(429);
  });
});
