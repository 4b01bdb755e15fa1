// The Ledger area (/admin/audit) over HTTP: filters, newest first, the cursor, the export of what
// the filter shows (CSV and JSON Lines), and what each record says of its request (issue 11 items 1–2).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAccount } from '../../src/accounts/create-account.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { CookieJar, csrfFrom, request } from '../helpers/browserless-login.ts';
import { signInToConsole, type ConsoleSession } from '../helpers/console-session.ts';
import * as client from 'openid-client';
import { createApplication } from '../../src/applications/create-application.ts';
import { signInAndConsent } from '../helpers/browserless-login.ts';
import { authorizationRequest } from '../helpers/relying-party.ts';

const actor = { kind: 'system', id: 'test' } as const;
let server: TestServer;
let auditor: ConsoleSession;
const PERSON = 'ledger.person@example.test';
let personId: string;

beforeAll(async () => {
  server = await startTestServer();
  personId = (await createAccount(server.services.accountDeps, { email: PERSON, password: 'a long enough password', emailVerified: true },
    actor)).id;
  for (let i = 0; i < 60; i += 1) {
    await server.services.audit.record({ type: 'login.failed', actor: { kind: 'account', id: null }, subject: personId, outcome: 'failure',
      details: { reason: 'wrong_password', i } });
  }
  await server.services.audit.record({ type: 'grant.revoked', actor, subject: personId, clientId: 'app-1', permissions: ['calls:read'] });
  auditor = await signInToConsole(server, ['auditor']);
}, 60_000);
afterAll(() => server.close());

const page = async (query: string) => {
  const response = await request(auditor.jar, `${server.issuer}/admin/audit${query}`);
  return { status: response.status, html: await response.text() };
};
const seqs = (html: string) => [...html.matchAll(/data-record="(\d+)"/g)].map((m) => Number(m[1]));

describe('/admin/audit', () => {
  it('filters by person (email), type and outcome, newest first, 50 a page, and pages on by cursor without repeats or gaps', async () => {
    const first = await page(`?person=${encodeURIComponent(PERSON)}&type=login.failed&outcome=failure`);
    expect(first.status).toBe(200);
    const firstSeqs = seqs(first.html);
    expect(firstSeqs).toHaveLength(50);
    expect([...firstSeqs].sort((a, b) => b - a)).toEqual(firstSeqs);
    const next = /data-action="next-page" href="([^"]+)"/.exec(first.html)![1]!.replaceAll('&amp;', '&');
    const second = await page(next.replace('/admin/audit', ''));
    const secondSeqs = seqs(second.html);
    expect(secondSeqs).toHaveLength(10);
    expect(secondSeqs[0]).toBe(firstSeqs.at(-1)! - 1);
    expect(second.html).not.toContain('data-action="next-page"');
  });

  it('answers "who obtained or lost calls:read" with the permission filter, and the one search box understands an email, a type or a permission', async () => {
    expect(seqs((await page('?permission=calls:read')).html)).toHaveLength(1);
    expect(seqs((await page('?q=calls%3Aread')).html)).toHaveLength(1);
    expect(seqs((await page('?q=grant.revoked')).html)).toHaveLength(1);
    expect(seqs((await page(`?q=${encodeURIComponent(PERSON)}`)).html)).toHaveLength(50);
    expect((await page('?q=nobody%40example.test')).html).toContain('data-no-records');
  });

  it('records the request each event came from: IP, user agent and the request id echoed to the client', async () => {
    const jar = new CookieJar();
    const form = await (await request(jar, `${server.issuer}/forgot-password`)).text();
    const answer = await request(jar, `${server.issuer}/forgot-password`,
      { form: { email: PERSON, _csrf: csrfFrom(form) }, headers: { 'User-Agent': 'LedgerTest/1.0', 'X-Request-Id': 'spoofed-by-client' } });
    const requestId = answer.headers.get('x-request-id')!;
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/); // without TRUST_PROXY a client's X-Request-Id is not taken
    const [event] = await server.services.stores.durable.audit.queryAuditEvents({ type: 'password.reset_requested', subject: personId, limit: 1 });
    expect(event).toMatchObject({ requestId, userAgent: 'LedgerTest/1.0', ip: '127.0.0.1' });
  });

  it('exports what the filter shows, streamed, as CSV and as JSON Lines', async () => {
    const csv = await request(auditor.jar, `${server.issuer}/admin/audit/export.csv?person=${encodeURIComponent(PERSON)}&type=login.failed`);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(csv.headers.get('content-disposition')).toContain('attachment');
    const rows = (await csv.text()).trim().split('\r\n');
    expect(rows).toHaveLength(61);
    expect(rows[1]).toContain(',login.failed,failure,');
    const jsonl = await request(auditor.jar, `${server.issuer}/admin/audit/export.jsonl?permission=calls:read`);
    const lines = (await jsonl.text()).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([expect.objectContaining({ type: 'grant.revoked', clientId: 'app-1', permissions: ['calls:read'] })]);
  });
});

describe('grant.revoked, whoever revokes', () => {
  it('is recorded once per grant with what it held: by the client (RFC 7009), on refresh token reuse, by the person on /account', async () => {
    const web = await createApplication(server.services.applicationDeps,
      { name: 'Ledger web', type: 'web', scope: 'message:send', redirectUris: ['http://localhost/cb'] }, actor);
    const app = { clientId: web.application.clientId, secret: web.secret!.clientSecret };
    const email = 'revoked.grants@example.test';
    const password = 'grants come and go in the ledger';
    const person = await createAccount(server.services.accountDeps, { email, password, emailVerified: true }, actor);
    const signIn = async () => {
      const started = await authorizationRequest(server.issuer, app, 'http://localhost/cb',
        { scope: 'openid offline_access message:send', prompt: 'consent' });
      return { config: started.config, tokens: await started.redeem(await signInAndConsent(server.issuer, started.url.href, { email, password })) };
    };
    const revocations = async () => (await server.services.stores.durable.audit.queryAuditEvents({ type: 'grant.revoked', subject: person.id,
      limit: 10 })).map((e) => ({ actor: e.actor.kind, clientId: e.clientId, permissions: e.permissions, reason: e.details.reason }));
    const held = ['openid', 'offline_access', 'message:send'];

    const first = await signIn();
    await client.tokenRevocation(first.config, first.tokens.refresh_token!, { token_type_hint: 'refresh_token' });
    expect(await revocations()).toEqual([{ actor: 'client', clientId: app.clientId, permissions: expect.arrayContaining(['message:send']),
      reason: 'token_revoked_by_client' }]);

    const second = await signIn();
    const refreshed = await client.refreshTokenGrant(second.config, second.tokens.refresh_token!);
    // The successor used, the old token is reuse, not a retry (src/oidc/refresh-token-reuse.ts).
    await client.refreshTokenGrant(second.config, refreshed.refresh_token!);
    await expect(client.refreshTokenGrant(second.config, second.tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await revocations())[0]).toMatchObject({ actor: 'client', reason: 'refresh_token_reused' });

    await signIn();
    const jar = new CookieJar();
    await signInAndConsent(server.issuer, (await authorizationRequest(server.issuer, app, 'http://localhost/cb')).url.href, { email, password }, 'allow', jar);
    const account = await (await request(jar, `${server.issuer}/account`)).text();
    await request(jar, `${server.issuer}/account/apps/${encodeURIComponent(app.clientId)}/revoke`, { form: { _csrf: csrfFrom(account) } });
    expect((await revocations())[0]).toEqual({ actor: 'account', clientId: app.clientId, permissions: expect.arrayContaining(held), reason: undefined });
    expect(await revocations()).toHaveLength(3);
  });
});
