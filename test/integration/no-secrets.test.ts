// Issue 11 item 4: nothing secret in the ledger or the logs. One server logs every line (level
// trace) to a file while a run goes through what creates secrets: registration and its activation
// link, passwords right and wrong, a reset link, sign-in with PKCE, the code, access, refresh and
// ID tokens, a refresh, TOTP enrolment (secret, codes, recovery codes), API keys created and
// rotated, tokens by client credentials. Then the ledger (as stored and as exported) and the log are
// searched for every one of those secrets.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as client from 'openid-client';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { rotateClientSecret } from '../../src/applications/rotate-client-secret.ts';
import { exportLedger } from '../../src/audit/ledger-export.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { CookieJar, csrfFrom, request, signInAndConsent } from '../helpers/browserless-login.ts';
import { authorizationRequest } from '../helpers/relying-party.ts';
import { codeAt, createMfaFlow } from '../helpers/mfa-flow.ts';
import { lastMailTo } from '../helpers/outbox.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const actor = { kind: 'system', id: 'test' } as const;
const REDIRECT_URI = 'http://localhost/callback';
const logDir = makeTempDir('no-secrets-log');
const logFile = join(logDir.path, 'server.log');
let server: TestServer;
const secrets = new Map<string, string>();
const keep = (what: string, value: string | undefined) => {
  if (!value) throw new Error(`${what}: nothing to keep`);
  secrets.set(what, value);
};

beforeAll(async () => {
  server = await startTestServer({ log: { file: logFile, level: 'trace' } });
}, 60_000);
afterAll(async () => {
  logDir.remove();
});

const tokenFrom = (link: string) => new URL(link).searchParams.get('token') ?? undefined;

describe('a run that creates every kind of secret', () => {
  it('leaves none of them in the ledger, its export or the log', async () => {
    const { issuer, dataDir } = server;
    const web = await createApplication(server.services.applicationDeps, { name: 'Chat', type: 'web', redirectUris: [REDIRECT_URI] }, actor);
    const service = await createApplication(server.services.applicationDeps, { name: 'Bot', type: 'service', scope: 'message:send' }, actor);
    keep('web client secret', web.secret?.clientSecret);
    keep('service client secret', service.secret?.clientSecret);

    // Registration and its activation link.
    const email = 'secret.keeper@example.test';
    const firstPassword = 'first secret passphrase 7xq';
    keep('first password', firstPassword);
    const jar = new CookieJar();
    const form = await (await request(jar, `${issuer}/register`)).text();
    expect((await request(jar, `${issuer}/register`, { form: { email, password: firstPassword, name: 'Keeper', _csrf: csrfFrom(form) } })).status)
      .toBe(303);
    const activation = (await lastMailTo(dataDir, email, /Activate/)).links[0]!;
    keep('activation link token', tokenFrom(activation));
    expect((await request(jar, activation)).status).toBe(200);

    // A wrong password, then a reset link and a new password.
    const wrongPassword = 'not the right one 4kz';
    keep('wrong password', wrongPassword);
    const app = { clientId: web.application.clientId, secret: web.secret!.clientSecret };
    const wrong = await createMfaFlow(server, app, REDIRECT_URI, wrongPassword).afterPassword(email);
    expect(wrong.postStatus).toBe(401);
    const forgot = await (await request(jar, `${issuer}/forgot-password`)).text();
    await request(jar, `${issuer}/forgot-password`, { form: { email, _csrf: csrfFrom(forgot) } });
    const reset = tokenFrom((await lastMailTo(dataDir, email, /Reset/)).links[0]!);
    keep('reset link token', reset);
    const password = 'second secret passphrase 9wv';
    keep('second password', password);
    const resetForm = await (await request(jar, `${issuer}/reset-password?token=${reset}`)).text();
    expect((await request(jar, `${issuer}/reset-password`, { form: { token: reset!, password, _csrf: csrfFrom(resetForm) } })).status).toBe(303);

    // Sign-in with PKCE: the code, the tokens, a refresh.
    const authorization = await authorizationRequest(issuer, app, REDIRECT_URI, { scope: 'openid offline_access message:send', prompt: 'consent' });
    const callback = await signInAndConsent(issuer, authorization.url.href, { email, password });
    keep('authorization code', new URL(callback).searchParams.get('code') ?? undefined);
    const tokens = await authorization.redeem(callback);
    keep('access token', tokens.access_token);
    keep('refresh token', tokens.refresh_token);
    keep('ID token', tokens.id_token);
    const refreshed = await client.refreshTokenGrant(authorization.config, tokens.refresh_token!);
    keep('refreshed access token', refreshed.access_token);
    keep('refreshed refresh token', refreshed.refresh_token);

    // Two-factor: the TOTP secret, a code, the recovery codes; sign-ins with a code and with a recovery code.
    // A second person, whose first sign-in to the app is the enrolment's.
    const mfaEmail = 'second.keeper@example.test';
    await createAccount(server.services.accountDeps, { email: mfaEmail, password, name: 'Second', emailVerified: true }, actor);
    const flow = createMfaFlow(server, app, REDIRECT_URI, password);
    const { secret, codes } = await flow.enrol(mfaEmail);
    keep('TOTP secret', secret);
    codes.forEach((code, i) => keep(`recovery code ${i}`, code));
    const codeJar = new CookieJar();
    const withCode = await flow.post(codeJar, await flow.afterPassword(mfaEmail, codeJar), '/mfa', { code: await codeAt(secret, 1) });
    expect(withCode.postStatus).toBe(303);
    const recoveryJar = new CookieJar();
    const withRecovery = await flow.post(recoveryJar, await flow.afterPassword(mfaEmail, recoveryJar), '/mfa', { code: codes[0]! });
    expect(withRecovery.postStatus).toBe(303);
    for (const [name, value] of [...codeJar.entries(), ...recoveryJar.entries()]) if (value.length >= 16) keep(`cookie ${name}`, value);

    // API keys: tokens by client credentials, a rotation.
    const serviceToken = await fetch(`${issuer}/token`, { method: 'POST', headers: {
      authorization: `Basic ${Buffer.from(`${service.application.clientId}:${service.secret!.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&scope=message%3Asend' });
    keep('client credentials token', ((await serviceToken.json()) as { access_token?: string }).access_token);
    keep('rotated client secret', (await rotateClientSecret(server.services.applicationDeps, service.application.clientId, { graceSeconds: 0 }, actor))
      .clientSecret);
    await server.flushLastUse();

    const ledger = JSON.stringify(server.services.stores.sqlite!.prepare('SELECT * FROM audit_ledger').all());
    let exported = '';
    for await (const line of exportLedger(server.services.stores.durable.audit, { format: 'jsonl' })) exported += line;
    await server.close();
    const log = readFileSync(logFile, 'utf8');

    // The run did what it says: its events are in the ledger and the log has lines.
    expect(exported).toContain('"type":"password.reset"');
    expect(exported).toContain('"type":"mfa.recovery_code_used"');
    expect(exported).toContain('"type":"token.issued"');
    expect(log).toContain('"template":"reset_password"');
    expect(secrets.size).toBeGreaterThan(20);
    const found = [...secrets].filter(([, value]) => ledger.includes(value) || exported.includes(value) || log.includes(value))
      .map(([what]) => what);
    expect(found).toEqual([]);
  }, 120_000);
});
