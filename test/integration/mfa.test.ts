// Two-factor sign-in over HTTP (codes generated with otplib, an RFC 6238 implementation).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { decodeJwt } from 'jose';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { CookieJar, csrfFrom, request } from '../helpers/browserless-login.ts';
import { codeAt, createMfaFlow, type Step } from '../helpers/mfa-flow.ts';
import { lastMailTo } from '../helpers/outbox.ts';

const actor = { kind: 'system', id: 'test' } as const;
const REDIRECT_URI = 'http://localhost/callback';
const PASSWORD = 'two factors are better';
let server: TestServer;
let web: { clientId: string; secret: string };

beforeAll(async () => {
  server = await startTestServer({ configure: (config) => ({ ...config, mfa: { requiredForScopes: ['calls:read'] } }) });
  const created = await createApplication(server.services.applicationDeps, { name: 'Web', type: 'web', redirectUris: [REDIRECT_URI] }, actor);
  web = { clientId: created.application.clientId, secret: created.secret!.clientSecret };
});
afterAll(() => server.close());

let accounts = 0;
async function newAccount(roles?: string[]) {
  accounts += 1;
  const email = `mfa${accounts}@example.test`;
  await createAccount(server.services.accountDeps, { email, password: PASSWORD, emailVerified: true, roles }, actor);
  return email;
}

const flow = () => createMfaFlow(server, web, REDIRECT_URI, PASSWORD);
const authorization = (extra: Record<string, string> = {}) => flow().authorization(extra);
const open = (jar: CookieJar, url: string) => flow().open(jar, url);
const post = (jar: CookieJar, step: Step, path: string, form: Record<string, string>) => flow().post(jar, step, path, form);
const afterPassword = (email: string, jar = new CookieJar(), extra: Record<string, string> = {}) => flow().afterPassword(email, jar, extra);
const enrol = (email: string) => flow().enrol(email);

const isMfaStep = (step: Step) => step.html.includes('/mfa"');

describe('enrolment and sign-in with a second factor', () => {
  it('enrols, then signs in with password + code; ID and access tokens carry amr ["pwd","otp"] and the mfa acr', async () => {
    const email = await newAccount();
    const { secret } = await enrol(email);
    expect((await lastMailTo(server.dataDir, email, /Two-factor sign-in is on/)).to).toBe(email);
    const record = await server.services.stores.durable.mfa.findMfaByAccountId(
      (await server.services.stores.durable.accounts.findAccountByEmail(email))!.id);
    expect(record!.totpSecret).not.toContain(secret); // sealed at rest

    const jar = new CookieJar();
    const { config, verifier, url } = await authorization({ prompt: 'consent' });
    const login = await open(jar, url);
    const mfa = await post(jar, login, '/login', { email, password: PASSWORD });
    expect(isMfaStep(mfa)).toBe(true);
    const consent = await post(jar, mfa, '/mfa', { code: await codeAt(secret, 1) });
    const back = await post(jar, consent, '/consent', { decision: 'allow' });
    expect(back.url.startsWith(REDIRECT_URI)).toBe(true);
    const tokens = await client.authorizationCodeGrant(config, new URL(back.url), { pkceCodeVerifier: verifier, idTokenExpected: true });
    expect(tokens.claims()).toMatchObject({ amr: ['pwd', 'otp'], acr: 'urn:tokenim:acr:mfa' });
    expect(decodeJwt(tokens.access_token)).toMatchObject({ amr: ['pwd', 'otp'], acr: 'urn:tokenim:acr:mfa' });
  });

  it('refuses a code used before, accepts ±1 time step, refuses ±2', async () => {
    const email = await newAccount();
    const { secret } = await enrol(email);
    const attempt = async (code: string) => {
      const jar = new CookieJar();
      return (await post(jar, await afterPassword(email, jar), '/mfa', { code })).postStatus;
    };
    expect(await attempt(await codeAt(secret, -2))).toBe(401);
    expect(await attempt(await codeAt(secret, 2))).toBe(401);
    expect(await attempt(await codeAt(secret, 1))).toBe(303);
    expect(await attempt(await codeAt(secret, 1))).toBe(401); // the same code again
    const jar = new CookieJar();
    const replay = await post(jar, await afterPassword(email, jar), '/mfa', { code: await codeAt(secret, 1) });
    expect(replay.html).toContain('This code was already used. Wait for the next code');
    expect(await attempt(await codeAt(secret, 0))).toBe(401); // an earlier step than one already used
  });

  it('of two parallel submissions of one code exactly one succeeds', async () => {
    const email = await newAccount();
    const { secret } = await enrol(email);
    const jars = [new CookieJar(), new CookieJar()];
    const [a, b] = await Promise.all([afterPassword(email, jars[0]), afterPassword(email, jars[1])]);
    const code = await codeAt(secret, 1);
    const results = await Promise.all([post(jars[0]!, a!, '/mfa', { code }), post(jars[1]!, b!, '/mfa', { code })]);
    expect(results.map((r) => r.postStatus).sort()).toEqual([303, 401]);
  });

  it('a recovery code works once', async () => {
    const email = await newAccount();
    const { codes } = await enrol(email);
    const [jarA, jarB] = [new CookieJar(), new CookieJar()];
    const first = await post(jarA, await afterPassword(email, jarA), '/mfa', { code: codes[0]!.toUpperCase() });
    expect(first.postStatus).toBe(303);
    const again = await post(jarB, await afterPassword(email, jarB), '/mfa', { code: codes[0]! });
    expect(again.postStatus).toBe(401);
    // Says what happened: not "check the time on your phone", which is about TOTP codes.
    expect(again.html).toContain('This recovery code is not right, or it was already used');
    expect(again.html).not.toContain('Check the time on your phone');
    const events = await server.services.stores.durable.audit.listAuditEvents({ type: 'mfa.recovery_code_used', limit: 100 });
    expect(events.length).toBeGreaterThanOrEqual(1);
  });

  it('five wrong codes start the sign-in over from the password', async () => {
    const email = await newAccount();
    await enrol(email);
    const jar = new CookieJar();
    let step: Step & { postStatus?: number } = await afterPassword(email, jar);
    for (let i = 0; i < 4; i += 1) {
      step = await post(jar, step, '/mfa', { code: '123456' });
      expect(step.postStatus).toBe(401);
    }
    step = await post(jar, step, '/mfa', { code: '123456' });
    expect(step.postStatus).toBe(303);
    expect(step.html).toContain('action="/interaction/');
    expect(step.html).toMatch(/\/login"/); // the password page again
    const failures = await server.services.stores.durable.audit.listAuditEvents({ type: 'mfa.failed', limit: 1000 });
    expect(failures.length).toBeGreaterThanOrEqual(5);
  });

  it('stopping after the password, or posting consent directly, yields no authorization code', async () => {
    const email = await newAccount();
    await enrol(email);
    const jar = new CookieJar();
    const mfa = await afterPassword(email, jar);
    expect(isMfaStep(mfa)).toBe(true);
    const uid = /\/interaction\/([^/"]+)\/mfa"/.exec(mfa.html)![1]!;
    const forged = await request(jar, `${server.issuer}/interaction/${uid}/consent`, { form: { decision: 'allow', _csrf: csrfFrom(mfa.html) } });
    expect(forged.status).toBe(400);
    const resumed = await open(jar, `${server.issuer}/auth/${uid}`);
    expect(resumed.url.startsWith(REDIRECT_URI)).toBe(false);
    expect(isMfaStep(resumed)).toBe(true);
  });
});

describe('limits and recovery codes', () => {
  it('wrong codes per account are limited across sign-ins: past the limit even a right code waits (429)', async () => {
    const email = await newAccount();
    const { secret } = await enrol(email);
    const statuses: number[] = [];
    for (let signIn = 0; signIn < 3; signIn += 1) {
      const jar = new CookieJar();
      let step = await afterPassword(email, jar);
      for (let i = 0; i < 4; i += 1) {
        step = await post(jar, step, '/mfa', { code: '000000' });
        statuses.push(step.postStatus);
      }
    }
    expect(statuses.slice(0, 9)).toEqual(Array(9).fill(401));
    expect(statuses.slice(10)).toEqual([429, 429]);
    const jar = new CookieJar();
    const blocked = await post(jar, await afterPassword(email, jar), '/mfa', { code: await codeAt(secret, 1) });
    expect(blocked.postStatus).toBe(429);
  });

  /** Signs in with the password and a recovery code (consenting once), then opens /account/security. */
  async function openSecurityPage(email: string, recoveryCode: string) {
    const jar = new CookieJar();
    const consent = await post(jar, await afterPassword(email, jar, { prompt: 'consent' }), '/mfa', { code: recoveryCode });
    await post(jar, consent, '/consent', { decision: 'allow' });
    return { jar, page: await open(jar, `${server.issuer}/account/security`) };
  }

  it('wrong codes on /account/security count against the same per-account limit: the 10th is 429, then the sign-in waits too', async () => {
    const email = await newAccount();
    const { secret, codes } = await enrol(email);
    const { jar, page } = await openSecurityPage(email, codes[0]!);
    // With the right password each time: only the code is guessed.
    const disable = (code: string) => request(jar, `${server.issuer}/account/security/disable`,
      { form: { current_password: PASSWORD, code, _csrf: csrfFrom(page.html) } });
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 10; i += 1) {
      last = await disable(String(100_000 + i));
      statuses.push(last.status);
    }
    expect(statuses).toEqual([...Array(9).fill(400), 429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(800);
    expect(await last!.text()).toMatch(/Too many wrong codes\. Try again in 1[45] minutes\./);
    // Past the limit a right code changes nothing (regenerating neither), and the factor stays on.
    const right = await disable(await codeAt(secret, 1));
    expect(right.status).toBe(429);
    const regenerate = await request(jar, `${server.issuer}/account/security/recovery-codes`,
      { form: { current_password: PASSWORD, code: await codeAt(secret, 1), _csrf: csrfFrom(page.html) } });
    expect(regenerate.status).toBe(429);
    expect((await open(jar, `${server.issuer}/account/security`)).html).toContain('data-mfa-status="on"');
    // One count per account: the sign-in's code page refuses the right code as well.
    const signIn = new CookieJar();
    expect((await post(signIn, await afterPassword(email, signIn), '/mfa', { code: await codeAt(secret, 1) })).postStatus).toBe(429);
  });

  it('regenerating recovery codes needs the password and a code; the old codes stop working', async () => {
    const email = await newAccount();
    const { secret, codes } = await enrol(email);
    const { jar, page } = await openSecurityPage(email, codes[0]!);
    const refused = await post(jar, page, '/account/security/recovery-codes', { current_password: 'wrong password', code: await codeAt(secret, 1) });
    expect(refused.status).toBe(400);
    const fresh = await post(jar, page, '/account/security/recovery-codes', { current_password: PASSWORD, code: await codeAt(secret, 1) });
    const newCodes = [...fresh.html.matchAll(/data-recovery-code>([a-z0-9-]+)</g)].map((m) => m[1]!);
    expect(newCodes).toHaveLength(10);
    expect(newCodes).not.toContain(codes[1]);
    const [jarA, jarB] = [new CookieJar(), new CookieJar()];
    expect((await post(jarA, await afterPassword(email, jarA), '/mfa', { code: codes[1]! })).postStatus).toBe(401);
    expect((await post(jarB, await afterPassword(email, jarB), '/mfa', { code: newCodes[0]! })).postStatus).toBe(303);
  });
});

describe('enforcement and step-up', () => {
  it('an admin without two-factor is made to enrol before any code is issued', async () => {
    const email = await newAccount(['admin']);
    const jar = new CookieJar();
    const { config, verifier, url } = await authorization({ prompt: 'consent' });
    const enrolPage = await post(jar, await open(jar, url), '/login', { email, password: PASSWORD });
    expect(enrolPage.html).toContain('data-totp-secret');
    expect(enrolPage.url.startsWith(REDIRECT_URI)).toBe(false);
    const secret = /data-totp-secret>([A-Z2-7]+)</.exec(enrolPage.html)![1]!;
    const codes = await post(jar, enrolPage, '/mfa-enroll', { current_password: PASSWORD, code: await codeAt(secret) });
    expect([...codes.html.matchAll(/data-recovery-code/g)]).toHaveLength(10);
    const continueHref = /href="([^"]+)" data-action="continue"/.exec(codes.html)![1]!;
    const consent = await open(jar, new URL(continueHref, server.issuer).href);
    const back = await post(jar, consent, '/consent', { decision: 'allow' });
    const tokens = await client.authorizationCodeGrant(config, new URL(back.url), { pkceCodeVerifier: verifier, idTokenExpected: true });
    expect(tokens.claims()!.amr).toEqual(['pwd', 'otp']);
  });

  it.each([
    ['acr_values=urn:tokenim:acr:mfa', { acr_values: 'urn:tokenim:acr:mfa' }],
    ['a scope that needs two-factor (calls:read)', { scope: 'openid calls:read' }],
  ])('%s asks a password-only session for the second factor', async (_label, extra) => {
    const email = await newAccount(['support']);
    const jar = new CookieJar();
    const consent = await afterPassword(email, jar, { prompt: 'consent' });
    const first = await post(jar, consent, '/consent', { decision: 'allow' });
    expect(new URL(first.url).searchParams.get('code')).toEqual(expect.any(String)); // password only was enough
    const stepUp = await open(jar, (await authorization(extra)).url);
    expect(stepUp.url.startsWith(REDIRECT_URI)).toBe(false);
    expect(stepUp.html).toContain('data-totp-secret'); // not enrolled yet: enrolment is the second factor
  });

  it('prompt=login asks for the second factor again', async () => {
    const email = await newAccount();
    const { secret } = await enrol(email);
    const jar = new CookieJar();
    const mfa = await afterPassword(email, jar, { prompt: 'consent' });
    const consent = await post(jar, mfa, '/mfa', { code: await codeAt(secret, 1) });
    await post(jar, consent, '/consent', { decision: 'allow' });
    const again = await open(jar, (await authorization({ prompt: 'login' })).url);
    const mfaAgain = await post(jar, again, '/login', { email, password: PASSWORD });
    expect(isMfaStep(mfaAgain)).toBe(true);
  });
});

describe('the security page', () => {
  it('turning two-factor off needs the password and a current code, and sends a notice', async () => {
    const email = await newAccount();
    const { secret, codes } = await enrol(email);
    const jar = new CookieJar();
    const mfa = await afterPassword(email, jar, { prompt: 'consent' });
    const consent = await post(jar, mfa, '/mfa', { code: codes[0]! }); // keeps the next time step unused
    await post(jar, consent, '/consent', { decision: 'allow' });
    const page = await open(jar, `${server.issuer}/account/security`);
    expect(page.html).toContain('data-mfa-status="on"');
    const noCode = await post(jar, page, '/account/security/disable', { current_password: PASSWORD, code: '000000' });
    expect(noCode.status).toBe(400);
    const off = await post(jar, page, '/account/security/disable', { current_password: PASSWORD, code: await codeAt(secret, 1) });
    expect(off.postStatus).toBe(303);
    expect(off.html).toContain('data-mfa-status="off"');
    expect((await lastMailTo(server.dataDir, email, /Two-factor sign-in is off/)).to).toBe(email);
    const types = (await server.services.stores.durable.audit.listAuditEvents({ limit: 10_000 })).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['mfa.enrolled', 'mfa.disabled', 'mfa.failed']));
  });

  it('an admin cannot turn two-factor off', async () => {
    const email = await newAccount(['admin']);
    const jar = new CookieJar();
    const enrolPage = await afterPassword(email, jar, { prompt: 'consent' });
    const secret = /data-totp-secret>([A-Z2-7]+)</.exec(enrolPage.html)![1]!;
    const codes = await post(jar, enrolPage, '/mfa-enroll', { current_password: PASSWORD, code: await codeAt(secret) });
    const consent = await open(jar, new URL(/href="([^"]+)" data-action="continue"/.exec(codes.html)![1]!, server.issuer).href);
    await post(jar, consent, '/consent', { decision: 'allow' });
    const page = await open(jar, `${server.issuer}/account/security`);
    expect(page.html).not.toContain('/account/security/disable');
    expect(page.html).toContain('Your role requires two-factor sign-in.');
  });
});
