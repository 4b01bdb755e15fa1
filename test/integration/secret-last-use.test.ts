// Issue 10, item 5: a key's last use is noted in memory on each accepted token request and written
// by the flush (each minute, and at shutdown) — one small store write per key, not one per request.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createApplication } from '../../src/applications/create-application.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';

const actor = { kind: 'system', id: 'test' } as const;
let server: TestServer;
beforeAll(async () => { server = await startTestServer(); });
afterAll(() => server.close());

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const token = (id: string, secret: string) => fetch(`${server.issuer}/token`, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(id, secret) },
  body: 'grant_type=client_credentials&scope=message%3Asend',
});

describe('grant_type=client_credentials: last use of the API key', () => {
  it('is written once per key by the flush, never on the token request itself', async () => {
    const { application, secret } = await createApplication(server.services.applicationDeps,
      { name: 'Bot', type: 'service', scope: 'message:send' }, actor);
    const store = server.services.stores.durable.applications;
    const recordUse = jest.spyOn(store, 'recordSecretUse');
    const update = jest.spyOn(store, 'updateApplication');
    const replace = jest.spyOn(store, 'replaceApplication');
    try {
      const before = Date.now();
      for (let i = 0; i < 5; i += 1) {
        const response = await token(application.clientId, secret!.clientSecret);
        expect(`${response.status} ${await response.text()}`).toMatch(/^200 /);
      }
      expect(recordUse).not.toHaveBeenCalled();
      expect(update).not.toHaveBeenCalled();
      expect(replace).not.toHaveBeenCalled();
      expect((await store.findApplicationByClientId(application.clientId))!.secrets[0]!.lastUsedAt).toBeNull();

      await server.flushLastUse();
      expect(recordUse).toHaveBeenCalledTimes(1);
      const lastUsedAt = (await store.findApplicationByClientId(application.clientId))!.secrets[0]!.lastUsedAt;
      expect(lastUsedAt!.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(lastUsedAt!.getTime()).toBeLessThanOrEqual(Date.now());

      // Nothing new to write: a second flush stores nothing.
      await server.flushLastUse();
      expect(recordUse).toHaveBeenCalledTimes(1);
    } finally {
      recordUse.mockRestore();
      update.mockRestore();
      replace.mockRestore();
    }
  });

  it('a refused key is not recorded', async () => {
    const { application } = await createApplication(server.services.applicationDeps,
      { name: 'Bot', type: 'service', scope: 'message:send' }, actor);
    expect((await token(application.clientId, 'tkm_sk_wrong')).status).toBe(401);
    await server.flushLastUse();
    expect((await server.services.stores.durable.applications.findApplicationByClientId(application.clientId))!.secrets[0]!.lastUsedAt).toBeNull();
  });
});
