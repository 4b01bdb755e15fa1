// Bad input gets the RFC error, never a 500 or a stack trace (RFC 6749 §5.2, RFC 7636, RFC 9700).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { rotateClientSecret } from '../../src/applications/rotate-client-secret.ts';
import { revokeApplication } from '../../src/applications/revoke-application.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { CookieJar, csrfFrom, follow, request } from '../helpers/browserless-login.ts';

const actor = { kind: 'system', id: 'test' } as const;
let server: TestServer;
let service: { clientId: string; secret: string };
let web: { clientId: string; secret: string };
const redirectUri = 'http://localhost/callback';

beforeAll(async () => {
  server = await startTestServer();
  const { applicationDeps, accountDeps } = server.services;
  const svc = await createApplication(applicationDeps, { name: 'Bot', type: 'service', scope: 'message:send' }, actor);
  service = { clientId: svc.application.clientId, secret: svc.secret!.clientSecret };
  const app = await createApplication(applicationDeps, { name: 'Web', type: 'web', redirectUris: [redirectUri] }, actor);
  web = { clientId: app.application.clientId, secret: app.secret!.clientSecret };
  await createAccount(accountDeps, { email: 'grace@example.test', password: 'a long enough password', emailVerified: true }, actor);
});
afterAll(() => server.close());

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

async function token(body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
  const text = await response.text();
  expect(text).not.toMatch(/\bat .+\.(js|ts):\d+/); // no stack trace
  return { status: response.status, headers: response.headers, body: JSON.parse(text) as Record<string, unknown> };
}

const clientCredentials = (id: string, secret: string) =>
  token('grant_type=client_credentials&scope=message%3Asend', { authorization: basic(id, secret) });

describe('client authentication at the token endpoint', () => {
  it('unknown client → 401 invalid_client', async () => {
    const res = await clientCredentials('tkm_nobody', 'tkm_sk_whatever');
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  it('wrong secret → 401 invalid_client, the same answer as an unknown client', async () => {
    const res = await clientCredentials(service.clientId, `${service.secret}x`);
    expect(res.status).toBe(401);
    expect(res.body).toEqual((await clientCredentials('tkm_nobody', 'tkm_sk_whatever')).body);
  });

  // RFC 6749 §5.2 (src/oidc/unauthorized-client.ts; oidc-provider itself answers invalid_request).
  it('a client_credentials client may not use authorization_code → 400 unauthorized_client, no token', async () => {
    const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
    const res = await token(`grant_type=authorization_code&code=abc&redirect_uri=${encodeURIComponent(redirectUri)}&code_verifier=${verifier}`,
      { authorization: basic(service.clientId, service.secret) });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'unauthorized_client',
      error_description: 'this client is not registered for grant_type=authorization_code; it may use client_credentials' });
  });
});

describe('API key rotation and revocation', () => {
  it('with a grace period both secrets work; without one the old secret stops at once', async () => {
    const { application, secret } = await createApplication(server.services.applicationDeps,
      { name: 'Rotating', type: 'service', scope: 'message:send' }, actor);
    const first = secret!.clientSecret;
    const second = await rotateClientSecret(server.services.applicationDeps, application.clientId, { graceSeconds: 3600 }, actor);
    expect(second.previousSecretValidUntil).toBeInstanceOf(Date);
    expect((await clientCredentials(application.clientId, first)).status).toBe(200);
    expect((await clientCredentials(application.clientId, second.clientSecret)).status).toBe(200);
    const third = await rotateClientSecret(server.services.applicationDeps, application.clientId, { graceSeconds: 0 }, actor);
    expect((await clientCredentials(application.clientId, first)).status).toBe(401);
    expect((await clientCredentials(application.clientId, second.clientSecret)).status).toBe(401);
    expect((await clientCredentials(application.clientId, third.clientSecret)).status).toBe(200);
  });

  it('a revoked application gets invalid_client', async () => {
    const { application, secret } = await createApplication(server.services.applicationDeps,
      { name: 'Doomed', type: 'service', scope: 'message:send' }, actor);
    expect((await clientCredentials(application.clientId, secret!.clientSecret)).status).toBe(200);
    await revokeApplication(server.services.applicationDeps, application.clientId, actor);
    const res = await clientCredentials(application.clientId, secret!.clientSecret);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  it('stores only hashes of secrets', async () => {
    const stored = await server.services.stores.durable.applications.findApplicationByClientId(service.clientId);
    expect(JSON.stringify(stored)).not.toContain(service.secret);
    expect(stored!.secrets[0]!.hash).toMatch(/^hmac-sha256:/);
  });
});

describe('malformed token requests', () => {
  const auth = () => ({ authorization: basic(service.clientId, service.secret) });

  it('unknown grant type → 400 unsupported_grant_type', async () => {
    const res = await token('grant_type=password&username=a&password=b', auth());
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('unsupported_grant_type');
  });

  it('no grant type → 400 invalid_request', async () => {
    const res = await token('', auth());
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  it('a JSON body → 400 invalid_request', async () => {
    const res = await token(JSON.stringify({ grant_type: 'client_credentials' }), { ...auth(), 'content-type': 'application/json' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  it('a 1 MB body → 4xx, not 5xx', async () => {
    const res = await token(`grant_type=client_credentials&scope=${'a'.repeat(1024 * 1024)}`, auth());
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });

  it('a malformed Basic header → 400 invalid_request', async () => {
    const res = await token('grant_type=client_credentials', { authorization: 'Basic %%%not-base64' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  it('duplicate parameters → 400 invalid_request', async () => {
    const res = await token('grant_type=client_credentials&scope=message%3Asend&scope=message%3Asend', auth());
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });
});

describe('authorization requests', () => {
  const authorize = (params: Record<string, string>) =>
    fetch(`${server.issuer}/auth?${new URLSearchParams(params)}`, { redirect: 'manual' });

  it('without PKCE → invalid_request redirected to the app (RFC 9700 §2.1.1: PKCE for every client)', async () => {
    const res = await authorize({ client_id: web.clientId, response_type: 'code', redirect_uri: redirectUri, scope: 'openid', state: 'x' });
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(redirectUri);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/PKCE/);
  });

  it('an unregistered redirect_uri → an error page at the server, never a redirect', async () => {
    const res = await authorize({ client_id: web.clientId, response_type: 'code', redirect_uri: 'https://evil.example/cb',
      scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    const html = await res.text();
    expect(html).toContain('data-error-code>invalid_redirect_uri<');
  });

  it('response_type=token → unsupported_response_type, no token in any fragment', async () => {
    const res = await authorize({ client_id: web.clientId, response_type: 'token', redirect_uri: redirectUri, scope: 'openid' });
    expect(res.status).toBe(303);
    const location = res.headers.get('location')!;
    expect(location).toContain('error=unsupported_response_type');
    expect(location).not.toContain('access_token');
  });

  it('an unknown client → an error page in the requested language', async () => {
    const res = await authorize({ client_id: 'tkm_nobody', response_type: 'code', redirect_uri: redirectUri, ui_locales: 'zh-CN' });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('<html lang="zh-CN">');
    expect(html).toContain('data-error-code>invalid_client<');
  });
});

describe('the login page', () => {
  async function openLogin() {
    const jar = new CookieJar();
    const params = new URLSearchParams({
      client_id: web.clientId, response_type: 'code', redirect_uri: redirectUri, scope: 'openid',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
    });
    const { url, response } = await follow(jar, server.issuer, `${server.issuer}/auth?${params}`);
    return { jar, url, csrf: csrfFrom(await response.text()) };
  }

  it('answers an unknown email and a wrong password with the same page and status', async () => {
    const { jar, url, csrf } = await openLogin();
    const wrong = await request(jar, `${url}/login`, { form: { email: 'grace@example.test', password: 'not the password', _csrf: csrf } });
    const unknown = await request(jar, `${url}/login`, { form: { email: 'nobody@example.test', password: 'not the password', _csrf: csrf } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const strip = (html: string) => html.replace(/value="[^"]*@example.test"/, '').replace(/name="_csrf" value="[^"]+"/g, '');
    expect(strip(await wrong.text())).toBe(strip(await unknown.text()));
  });

  it('refuses form fields that are not strings (email[$ne]=) with 400', async () => {
    const { jar, url, csrf } = await openLogin();
    const res = await fetch(`${url}/login`, {
      method: 'POST', headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      body: `email[$ne]=&password[$ne]=&_csrf=${encodeURIComponent(csrf)}`, redirect: 'manual',
    });
    expect(res.status).toBe(400);
  });

  it('a forged cross-site login post (no cookies, no token) → 403, nothing recorded', async () => {
    const { url } = await openLogin();
    const before = (await server.services.stores.durable.audit.listAuditEvents({ limit: 10_000 })).length;
    const res = await fetch(`${url}/login`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: 'email=grace%40example.test&password=x', redirect: 'manual',
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('data-error-code>csrf<');
    expect((await server.services.stores.durable.audit.listAuditEvents({ limit: 10_000 })).length).toBe(before);
  });

  it('a login post whose interaction cookie is gone → 400 "expired, start again" page', async () => {
    const { jar, url, csrf } = await openLogin();
    const csrfCookiesOnly = jar.header().split('; ').filter((c) => c.startsWith('tokenim_csrf')).join('; ');
    const res = await fetch(`${url}/login`, {
      method: 'POST', headers: { cookie: csrfCookiesOnly, 'content-type': 'application/x-www-form-urlencoded' },
      body: `email=a%40b.c&password=x&_csrf=${encodeURIComponent(csrf)}`, redirect: 'manual',
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('data-error-code>interaction_expired<');
  });

  it('records failed and successful logins in the audit ledger', async () => {
    const { jar, url, csrf } = await openLogin();
    await request(jar, `${url}/login`, { form: { email: 'grace@example.test', password: 'not the password', _csrf: csrf } });
    const ok = await request(jar, `${url}/login`, { form: { email: 'grace@example.test', password: 'a long enough password', _csrf: csrf } });
    expect(ok.status).toBe(303);
    const events = await server.services.stores.durable.audit.listAuditEvents({ limit: 1000 });
    const types = events.map((e) => e.type);
    expect(types).toContain('login.failed');
    expect(types).toContain('login.succeeded');
    expect(types).toContain('client.created');
  });
});
