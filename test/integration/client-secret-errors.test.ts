// RFC 6749 §5.2: a refused API key gets 401 invalid_client (WWW-Authenticate: Basic) and a
// description that says why — only to someone who holds a real key of the application.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createApplication } from '../../src/applications/create-application.ts';
import { rotateClientSecret } from '../../src/applications/rotate-client-secret.ts';
import { revokeApplication } from '../../src/applications/revoke-application.ts';
import { revokeClientSecret } from '../../src/applications/revoke-client-secret.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';

const actor = { kind: 'system', id: 'test' } as const;
let server: TestServer;
beforeAll(async () => { server = await startTestServer(); });
afterAll(() => server.close());

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
async function clientCredentials(id: string, secret: string, language?: string, issuer = server.issuer) {
  const response = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(id, secret),
      ...(language ? { 'accept-language': language } : {}) },
    body: 'grant_type=client_credentials&scope=message%3Asend',
  });
  return { status: response.status, wwwAuthenticate: response.headers.get('www-authenticate'), body: await response.json() as Record<string, string> };
}
const service = (secretExpiresInSeconds?: number) => createApplication(server.services.applicationDeps,
  { name: 'Bot', type: 'service', scope: 'message:send', secretExpiresInSeconds }, actor);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/**
 * Moves a key's expiry an hour into the past, beyond oidc-provider's 15 s clockTolerance, so that
 * the library's own client_secret_expires_at check would refuse it if it still decided expiry.
 */
async function expireKey(clientId: string, secretId: string) {
  const expiredAt = new Date(Date.now() - 3_600_000);
  await server.services.stores.durable.applications.updateApplication(clientId, (application) => ({
    ...application, secrets: application.secrets.map((s) => (s.id === secretId ? { ...s, expiresAt: expiredAt } : s)),
  }));
  return expiredAt;
}

describe('grant_type=client_credentials with a refused API key', () => {
  it('an expired key → 401, WWW-Authenticate: Basic, "expired on <date>" (English and Chinese); ledger once', async () => {
    const { application, secret } = await service(3600);
    const expiredAt = await expireKey(application.clientId, secret!.secretId);
    const res = await clientCredentials(application.clientId, secret!.clientSecret);
    expect(res.status).toBe(401);
    expect(res.wwwAuthenticate).toMatch(/^Basic /);
    expect(res.body.error).toBe('invalid_client');
    expect(res.body.error_description).toBe(
      `This API key expired on ${expiredAt.toISOString().slice(0, 19)}Z; create a new one in developer settings.`);
    const zh = await clientCredentials(application.clientId, secret!.clientSecret, 'zh-CN,zh;q=0.9');
    expect(zh.body.error_description).toMatch(/^此 API 密钥已于 .+ 过期/);
    const events = await server.services.stores.durable.audit.listAuditEvents({ type: 'client.secret_expired', limit: 1000 });
    const mine = events.filter((e) => e.clientId === application.clientId);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.details).toEqual({ secretId: secret!.secretId, expiredAt: expect.any(String) });
  });

  it('a rotated key works inside its grace; after it → "replaced"', async () => {
    const { application, secret } = await service();
    const next = await rotateClientSecret(server.services.applicationDeps, application.clientId, { graceSeconds: 1 }, actor);
    expect((await clientCredentials(application.clientId, secret!.clientSecret)).status).toBe(200);
    expect((await clientCredentials(application.clientId, next.clientSecret)).status).toBe(200);
    await sleep(1100);
    const res = await clientCredentials(application.clientId, secret!.clientSecret);
    expect(res.status).toBe(401);
    expect(res.body.error_description).toMatch(/^This API key was replaced on .+; use the newest key\.$/);
    expect((await clientCredentials(application.clientId, next.clientSecret)).status).toBe(200);
  });

  it('a mistyped key and an unknown client get the generic description', async () => {
    const { application, secret } = await service();
    const generic = 'The API key does not match this application; check it was copied whole.';
    const res = await clientCredentials(application.clientId, `${secret!.clientSecret.slice(0, -1)}x`);
    expect(res).toMatchObject({ status: 401, body: { error: 'invalid_client', error_description: generic } });
    expect(res.wwwAuthenticate).toMatch(/^Basic /);
    expect((await clientCredentials('tkm_nobody', secret!.clientSecret)).body.error_description).toBe(generic);
  });

  it('a revoked application → "disabled" for its real key, generic for a wrong one', async () => {
    const { application, secret } = await service();
    await revokeApplication(server.services.applicationDeps, application.clientId, actor);
    const res = await clientCredentials(application.clientId, secret!.clientSecret);
    expect(res.status).toBe(401);
    expect(res.body.error_description).toMatch(/has been disabled/);
    expect((await clientCredentials(application.clientId, 'tkm_sk_wrong')).body.error_description).toMatch(/does not match/);
  });

  it('a third key ends the oldest at once; "revoke the old key now" ends the second', async () => {
    const { application, secret } = await service();
    const second = await rotateClientSecret(server.services.applicationDeps, application.clientId, { graceSeconds: 3600 }, actor);
    const third = await rotateClientSecret(server.services.applicationDeps, application.clientId, { graceSeconds: 3600 }, actor);
    expect((await clientCredentials(application.clientId, secret!.clientSecret)).body.error_description).toMatch(/was replaced/);
    expect((await clientCredentials(application.clientId, second.clientSecret)).status).toBe(200);
    expect((await clientCredentials(application.clientId, third.clientSecret)).status).toBe(200);
    await revokeClientSecret(server.services.applicationDeps, application.clientId, second.secretId, actor);
    expect((await clientCredentials(application.clientId, second.clientSecret)).body.error_description).toMatch(/was replaced/);
    expect((await clientCredentials(application.clientId, third.clientSecret)).status).toBe(200);
    // Ledger: actor, client and key ids; never a secret or its hash.
    const events = (await server.services.stores.durable.audit.listAuditEvents({ limit: 10_000 }))
      .filter((e) => e.clientId === application.clientId && e.type.startsWith('client.secret_'));
    expect(events.map((e) => [e.type, e.details.secretId])).toEqual([
      ['client.secret_created', secret!.secretId], ['client.secret_created', second.secretId], ['client.secret_rotated', second.secretId],
      ['client.secret_created', third.secretId], ['client.secret_rotated', third.secretId], ['client.secret_revoked', second.secretId],
    ]);
    expect(events.every((e) => e.actor.kind === 'system')).toBe(true);
    const logged = JSON.stringify(events);
    for (const s of [secret!.clientSecret, second.clientSecret, third.clientSecret, 'hmac-sha256']) expect(logged).not.toContain(s);
  });

  it('an older live key works when the newest expired', async () => {
    const { application, secret } = await service(3600);
    const next = await rotateClientSecret(server.services.applicationDeps, application.clientId,
      { graceSeconds: 3600, expiresInSeconds: 3600 }, actor);
    await expireKey(application.clientId, next.secretId);
    expect((await clientCredentials(application.clientId, next.clientSecret)).body.error_description).toMatch(/expired on/);
    expect((await clientCredentials(application.clientId, secret!.clientSecret)).status).toBe(200);
  });
});

describe('client.secret_expired: the first refused use of an expired key, once', () => {
  it('two instances on one DATA_DIR, then a restarted one: one ledger event, marked on the key record', async () => {
    const { application, secret } = await service(3600);
    await expireKey(application.clientId, secret!.secretId);
    const other = await startTestServer({ env: { DATA_DIR: server.dataDir } });
    try {
      for (const issuer of [server.issuer, other.issuer, server.issuer, other.issuer]) {
        expect((await clientCredentials(application.clientId, secret!.clientSecret, undefined, issuer)).status).toBe(401);
      }
    } finally {
      await other.close();
    }
    // A process that never saw the key (a restart): its memo is empty, the key record decides.
    const restarted = await startTestServer({ env: { DATA_DIR: server.dataDir } });
    try {
      expect((await clientCredentials(application.clientId, secret!.clientSecret, undefined, restarted.issuer)).status).toBe(401);
    } finally {
      await restarted.close();
    }
    const events = (await server.services.stores.durable.audit.listAuditEvents({ type: 'client.secret_expired', limit: 1000 }))
      .filter((e) => e.clientId === application.clientId);
    expect(events.map((e) => e.details.secretId)).toEqual([secret!.secretId]);
    const stored = await server.services.stores.durable.applications.findApplicationByClientId(application.clientId);
    expect(stored!.secrets[0]!.expiredUseRecordedAt).toEqual(expect.any(Date));
  });
});

describe('token introspection (RFC 7662 §2.1) authenticates the caller the same way', () => {
  it('an expired resource-server key → 401 invalid_client, "expired", WWW-Authenticate: Basic', async () => {
    const { application, secret } = await createApplication(server.services.applicationDeps,
      { name: 'API', type: 'service', isResourceServer: true }, actor);
    await expireKey(application.clientId, secret!.secretId);
    const response = await fetch(`${server.issuer}/token/introspection`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(application.clientId, secret!.clientSecret) },
      body: 'token=whatever',
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect(await response.json()).toMatchObject({ error: 'invalid_client', error_description: expect.stringMatching(/^This API key expired on /) });
  });
});

describe('GET /revocations (HTTP Basic, resource servers only) decides with the same function', () => {
  const poll = async (authorization: string, language?: string) => {
    const response = await fetch(`${server.issuer.replace(/\/$/, '')}/revocations`,
      { headers: { authorization, ...(language ? { 'accept-language': language } : {}) } });
    return { status: response.status, wwwAuthenticate: response.headers.get('www-authenticate'), body: await response.json() as Record<string, unknown> };
  };

  it('an expired key of a resource server → 401 "expired"; its live key → 200; a non-resource-server key → generic', async () => {
    const { application, secret } = await createApplication(server.services.applicationDeps,
      { name: 'API', type: 'service', isResourceServer: true }, actor);
    expect((await poll(basic(application.clientId, secret!.clientSecret))).status).toBe(200);
    await expireKey(application.clientId, secret!.secretId);
    const refused = await poll(basic(application.clientId, secret!.clientSecret), 'zh-CN');
    expect(refused.status).toBe(401);
    expect(refused.wwwAuthenticate).toMatch(/^Basic /);
    expect(refused.body).toMatchObject({ error: 'invalid_client', error_description: expect.stringMatching(/^此 API 密钥已于 .+ 过期/) });
    const other = await service();
    expect((await poll(basic(other.application.clientId, other.secret!.clientSecret))).body.error_description)
      .toBe('The API key does not match this application; check it was copied whole.');
  });
});
