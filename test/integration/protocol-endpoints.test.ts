// Issue 12, item 1: the protocol endpoints are dispatched to the provider ahead of the page stack,
// with their headers set statically; pages keep helmet's headers and the CSP; every request keeps
// its request id, which the ledger records.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createApplication } from '../../src/applications/create-application.ts';
import { PAGE_CSP } from '../../src/http/koa-security-headers.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';

const actor = { kind: 'system', id: 'test' } as const;
let server: TestServer;
let clientId: string;
let secret: string;
let secretId: string;

beforeAll(async () => {
  server = await startTestServer();
  const created = await createApplication(server.services.applicationDeps, { name: 'Bot', type: 'service', scope: 'message:send' }, actor);
  clientId = created.application.clientId;
  secret = created.secret!.clientSecret;
  secretId = created.secret!.secretId;
});
afterAll(() => server.close());

const basic = (id: string, key: string) => `Basic ${Buffer.from(`${id}:${key}`).toString('base64')}`;
const post = (path: string, body: string, key = secret) => fetch(`${server.issuer}${path}`, {
  method: 'POST', headers: { authorization: basic(clientId, key), 'content-type': 'application/x-www-form-urlencoded' }, body,
});
/** What helmet adds to pages (koa-security-headers.ts securityHeaders); the protocol endpoints do without. */
const PAGE_ONLY_HEADERS = ['referrer-policy', 'x-frame-options', 'cross-origin-opener-policy', 'origin-agent-cluster', 'x-dns-prefetch-control'];

function expectProtocolHeaders(response: Response, { isNoStore }: { isNoStore: boolean }) {
  expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  expect(response.headers.get('content-security-policy')).toBe(PAGE_CSP);
  if (isNoStore) expect(response.headers.get('cache-control')).toBe('no-store');
  else expect(response.headers.get('cache-control')).not.toBe('no-store');
  // Dispatched ahead of the page stack: none of helmet's page headers.
  for (const header of PAGE_ONLY_HEADERS) expect([header, response.headers.get(header)]).toEqual([header, null]);
}

describe('protocol endpoints, straight to the provider', () => {
  it('token (issued and refused), introspection and revocation: no-store, nosniff, a request id', async () => {
    const issued = await post('/token', 'grant_type=client_credentials&scope=message%3Asend');
    expect(issued.status).toBe(200);
    expectProtocolHeaders(issued, { isNoStore: true });
    const { access_token: token } = (await issued.json()) as { access_token: string };

    const refused = await post('/token', 'grant_type=client_credentials', 'not the key');
    expect(refused.status).toBe(401);
    expectProtocolHeaders(refused, { isNoStore: true });

    const introspected = await post('/token/introspection', `token=${token}`);
    expectProtocolHeaders(introspected, { isNoStore: true });
    const revoked = await post('/token/revocation', `token=${token}`);
    expectProtocolHeaders(revoked, { isNoStore: true });
  });

  it('UserInfo: no-store; JWKS and both discovery documents: nosniff and cacheable', async () => {
    const userinfo = await fetch(`${server.issuer}/me`);
    expect(userinfo.status).toBe(401);
    expectProtocolHeaders(userinfo, { isNoStore: true });
    for (const path of ['/jwks', '/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      const response = await fetch(`${server.issuer}${path}`);
      expect([path, response.status]).toEqual([path, 200]);
      expectProtocolHeaders(response, { isNoStore: false });
    }
  });

  it('a request to the token endpoint keeps its request id in the ledger (client.secret_expired)', async () => {
    await server.services.stores.durable.applications.updateApplication(clientId, (application) => ({
      ...application, secrets: application.secrets.map((s) => (s.id === secretId ? { ...s, expiresAt: new Date(Date.now() - 3_600_000) } : s)),
    }));
    const refused = await post('/token', 'grant_type=client_credentials');
    expect(refused.status).toBe(401);
    const events = await server.services.stores.durable.audit.listAuditEvents({ type: 'client.secret_expired', limit: 100 });
    expect(events.find((e) => e.clientId === clientId)?.requestId).toBe(refused.headers.get('x-request-id'));
  });
});

describe('pages keep the page stack', () => {
  it('our pages: the page CSP and helmet\'s headers', async () => {
    const page = await fetch(`${server.issuer}/register`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(PAGE_CSP);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('the provider\'s front channel (/auth, its error page): a CSP and helmet\'s headers', async () => {
    const page = await fetch(`${server.issuer}/auth?client_id=unknown&response_type=code&scope=openid`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(400);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
  });
});
