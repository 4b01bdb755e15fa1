// /healthz, /readyz and RP-initiated logout.
import { afterAll, describe, expect, it } from '@jest/globals';
import { startTestServer } from '../helpers/test-server.ts';
import { startTestRedis } from '../helpers/redis-server.ts';
import { connect } from 'node:net';
import { once } from 'node:events';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { CookieJar, request, signInAndConsent } from '../helpers/browserless-login.ts';

const testRedis = await startTestRedis();
afterAll(() => testRedis?.stop());

describe('readiness', () => {
  it('/healthz and /readyz answer 200 while every store answers', async () => {
    const server = await startTestServer();
    try {
      expect(await (await fetch(`${server.issuer}/healthz`)).json()).toEqual({ status: 'ok' });
      const ready = await fetch(`${server.issuer}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready', stores: { sqlite: 'ok' } });
    } finally {
      await server.close();
    }
  });

  (testRedis ? it : it.skip)('/readyz answers 503 naming the store while Redis is down; /healthz stays 200', async () => {
    const server = await startTestServer({ redisUrl: testRedis!.url, redisKeyPrefix: testRedis!.prefix });
    try {
      expect((await fetch(`${server.issuer}/readyz`)).status).toBe(200);
      await testRedis!.stop();
      const down = await fetch(`${server.issuer}/readyz`);
      expect(down.status).toBe(503);
      const body = (await down.json()) as { status: string; stores: Record<string, string> };
      expect(body.status).toBe('unavailable');
      expect(body.stores.sqlite).toBe('ok');
      expect(body.stores.redis).not.toBe('ok');
      expect((await fetch(`${server.issuer}/healthz`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('graceful stop', () => {
  it('lets an in-flight request finish, then refuses new connections', async () => {
    const server = await startTestServer();
    const port = Number(new URL(server.issuer).port);
    // A request whose headers are half sent is in flight when the stop begins.
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await new Promise((r) => setTimeout(r, 50));
    const stopped = server.close();
    let answer = '';
    socket.on('data', (chunk: Buffer) => { answer += chunk.toString(); });
    socket.write('Connection: keep-alive\r\n\r\n');
    // The server closes the connection once it has answered (Connection: close while stopping).
    await Promise.all([once(socket, 'close'), stopped]);
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK/);
    await expect(fetch(`${server.issuer}/healthz`)).rejects.toThrow();
  });
});

describe('RP-initiated logout', () => {
  it('GET /session/end asks a signed-in person to confirm, in the requested language', async () => {
    const server = await startTestServer();
    try {
      const actor = { kind: 'system', id: 'test' } as const;
      await createAccount(server.services.accountDeps, { email: 'li@example.test', password: 'long enough pass', emailVerified: true }, actor);
      const { application } = await createApplication(server.services.applicationDeps,
        { name: 'Web', type: 'web', redirectUris: ['http://localhost/callback'] }, actor);
      const jar = new CookieJar();
      const params = new URLSearchParams({ client_id: application.clientId, response_type: 'code', scope: 'openid',
        redirect_uri: 'http://localhost/callback', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256' });
      await signInAndConsent(server.issuer, `${server.issuer}/auth?${params}`, { email: 'li@example.test', password: 'long enough pass' }, 'allow', jar);
      const response = await request(jar, `${server.issuer}/session/end?ui_locales=zh-CN`);
      expect(response.status).toBe(200);
      const html = await response.text();
      expect(html).toContain('<html lang="zh-CN">');
      expect(html).toContain('id="op.logoutForm"');
      expect(html).toContain('退出登录');
    } finally {
      await server.close();
    }
  });
});
