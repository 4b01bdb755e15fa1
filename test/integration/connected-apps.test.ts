// One grant per person and app: consent is remembered across browser sessions, /account shows
// one row per app with what it can obtain today, and "Remove access" ends the app everywhere
// (refresh tokens of every session, and their live JWTs at a real resource server).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { decodeJwt } from 'jose';
import { createAccount } from '../../src/accounts/create-account.ts';
import { setAccountRoles } from '../../src/accounts/set-account-roles.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import type { RevocationListener } from '../../src/resource-server/revocation-listener.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { pollRevocations, startExampleApi, type ExampleApi } from '../helpers/example-api.ts';
import { CookieJar, csrfFrom, follow, request } from '../helpers/browserless-login.ts';

const REDIRECT_URI = 'http://localhost/callback';
const PASSWORD = 'one grant per app please';
const API_AUDIENCE = 'urn:tokenim:api';
const actor = { kind: 'system', id: 'test' } as const;

let server: TestServer;
let api: ExampleApi;
let apiUrl: string;
let listener: RevocationListener;
let web: { clientId: string; secret: string };

beforeAll(async () => {
  server = await startTestServer();
  const { applicationDeps } = server.services;
  const app = await createApplication(applicationDeps, { name: 'Chat Web', type: 'web', redirectUris: [REDIRECT_URI] }, actor);
  web = { clientId: app.application.clientId, secret: app.secret!.clientSecret };
  const rs = await createApplication(applicationDeps, { name: 'IM API', type: 'service', scope: 'message:read', isResourceServer: true }, actor);
  listener = await pollRevocations(server, { clientId: rs.application.clientId, secret: rs.secret!.clientSecret });
  api = await startExampleApi(server, { revocations: listener });
  apiUrl = api.url;
});

afterAll(async () => {
  await listener?.close();
  await api?.close();
  await server?.close();
});

const sendMessage = (token: string) => fetch(`${apiUrl}/v1/messages`, {
  method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ text: 'hi' }),
});

async function newAccount(name: string, roles?: string[]) {
  const email = `${name}@example.test`;
  const account = await createAccount(server.services.accountDeps, { email, password: PASSWORD, emailVerified: true, roles }, actor);
  return { email, id: account.id };
}

/** The live grants of an account for an app, as stored. */
async function grantsOf(accountId: string, clientId = web.clientId) {
  return (await server.services.stores.durable.artifacts.listByAccountId('Grant', accountId))
    .filter(({ payload }) => payload.clientId === clientId);
}

const discover = (app: { clientId: string; secret: string } = web) => client.discovery(new URL(server.issuer), app.clientId, undefined,
  client.ClientSecretBasic(app.secret), { execute: [client.allowInsecureRequests] });

async function authorizationRequest(scope: string, extra: Record<string, string> = {}, app = web) {
  const config = await discover(app);
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI, scope, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    ...extra,
  });
  return { config, verifier, url: url.href };
}

/** Walks the sign-in pages like a browser: which pages were shown (login, consent) and the consent page's HTML. */
async function walk(jar: CookieJar, url: string, email: string, stopAtConsent = false) {
  const asked: string[] = [];
  let consentHtml = '';
  let step = await follow(jar, server.issuer, url);
  for (let pages = 0; pages < 4 && step.url.startsWith(server.issuer); pages += 1) {
    const html = await step.response.text();
    const action = /<form method="post" action="([^"]+\/(login|consent))"/.exec(html);
    if (!action) throw new Error(`no login or consent form at ${step.url} (${step.response.status}): ${html.slice(0, 300)}`);
    asked.push(action[2]!);
    if (action[2] === 'consent') consentHtml = html;
    const form: Record<string, string> = action[2] === 'login' ? { email, password: PASSWORD } : { decision: 'allow' };
    const post = () => request(jar, new URL(action[1]!, server.issuer).href, { form: { ...form, _csrf: csrfFrom(html) } });
    if (action[2] === 'consent' && stopAtConsent) return { asked, consentHtml, allow: post };
    const posted = await post();
    expect(posted.status).toBe(303);
    step = await follow(jar, server.issuer, new URL(posted.headers.get('location')!, server.issuer).href);
  }
  return { asked, consentHtml, callback: step.url };
}

/** Signs in (in `jar`) and redeems the code: the pages shown and the tokens. */
async function signIn(jar: CookieJar, email: string, scope: string, extra: Record<string, string> = {}, app = web) {
  const { config, verifier, url } = await authorizationRequest(scope, extra, app);
  const { asked, consentHtml, callback } = await walk(jar, url, email);
  const tokens = await client.authorizationCodeGrant(config, new URL(callback!), { pkceCodeVerifier: verifier, idTokenExpected: true });
  return { asked, consentHtml, config, tokens };
}

const accountPage = async (jar: CookieJar) => {
  const response = await request(jar, `${server.issuer}/account`);
  expect(response.status).toBe(200);
  return response.text();
};
const rowsFor = (html: string, clientId = web.clientId) => html.split(`data-connected-app="${clientId}"`).length - 1;
/** The permissions listed in an app's row of /account. */
const rowPermissions = (html: string, clientId = web.clientId) => {
  const row = html.split(`data-connected-app="${clientId}"`)[1]?.split('</ul>')[0] ?? '';
  return [...row.matchAll(/<li>([^<]*)<\/li>/g)].map((match) => match[1]);
};

async function removeAccess(jar: CookieJar, clientId = web.clientId) {
  const html = await accountPage(jar);
  const action = new RegExp(`action="(/account/apps/[^"]+/revoke)"`).exec(html.split(`data-connected-app="${clientId}"`)[1] ?? '')![1]!;
  const response = await request(jar, `${server.issuer}${action}`, { form: { _csrf: csrfFrom(html) } });
  expect(response.status).toBe(303);
}

/** Milliseconds until the API refuses every token (fails after 3 s). */
async function timeUntilAllRefused(tokens: string[]): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < 3000) {
    const statuses = await Promise.all(tokens.map(async (token) => (await sendMessage(token)).status));
    if (statuses.every((status) => status === 401)) return Date.now() - start;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the API still accepts a token 3 s after "Remove access"');
}

const grantIdOf = (accessToken: string) => decodeJwt(accessToken).grant_id;

describe('consent remembered per person and app, across browser sessions', () => {
  let alice: { email: string; id: string };
  const jars = { a: new CookieJar(), b: new CookieJar(), c: new CookieJar() };
  const sessions: Record<string, Awaited<ReturnType<typeof signIn>>> = {};

  beforeAll(async () => { alice = await newAccount('alice'); });

  it('a second browser is not asked again and joins the same grant: one grant, one row on /account', async () => {
    sessions.a = await signIn(jars.a, alice.email, 'openid offline_access message:send', { prompt: 'consent' });
    expect(sessions.a.asked).toEqual(['login', 'consent']);

    const again = await signIn(jars.b, alice.email, 'openid message:send');
    expect(again.asked).toEqual(['login']); // no consent page: the grant of the first browser is the person's
    // offline_access needs prompt=consent (OIDC Core §11): the page is shown, the grant stays the same.
    sessions.b = await signIn(jars.b, alice.email, 'openid offline_access message:send', { prompt: 'consent' });
    expect(sessions.b.asked).toEqual(['consent']);

    const grants = await grantsOf(alice.id);
    expect(grants).toHaveLength(1);
    for (const tokens of [sessions.a.tokens, again.tokens, sessions.b.tokens]) expect(grantIdOf(tokens.access_token)).toBe(grants[0]!.id);
    for (const jar of [jars.a, jars.b]) expect(rowsFor(await accountPage(jar))).toBe(1);
  });

  it('a third sign-in asking a new permission is asked only that one, and it is added to the same grant', async () => {
    sessions.c = await signIn(jars.c, alice.email, 'openid message:send contacts:read');
    expect(sessions.c.asked).toEqual(['login', 'consent']);
    expect(sessions.c.consentHtml).toContain('data-scope="contacts:read"');
    expect(sessions.c.consentHtml).not.toContain('data-scope="message:send"');
    expect(decodeJwt(sessions.c.tokens.access_token).scope).toBe('message:send contacts:read');

    const grants = await grantsOf(alice.id);
    expect(grants).toHaveLength(1);
    expect(grantIdOf(sessions.c.tokens.access_token)).toBe(grants[0]!.id);
    expect((grants[0]!.payload.resources as Record<string, string>)[API_AUDIENCE]!.split(' ').sort()).toEqual(['contacts:read', 'message:send']);
    const html = await accountPage(jars.a);
    expect(rowsFor(html)).toBe(1);
    expect(rowPermissions(html)).toEqual(expect.arrayContaining(['Send messages as you', 'See your contacts']));
  });

  it('"Remove access" ends the app in every session: refresh → invalid_grant, every JWT refused within 1 s, no silent sign-in', async () => {
    const accessTokens = [sessions.a!, sessions.b!, sessions.c!].map(({ tokens }) => tokens.access_token);
    for (const token of accessTokens) expect((await sendMessage(token)).status).toBe(201);

    await removeAccess(jars.c);
    expect(await timeUntilAllRefused(accessTokens)).toBeLessThan(1000);
    for (const { config, tokens } of [sessions.a!, sessions.b!]) {
      await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    }
    expect(await grantsOf(alice.id)).toHaveLength(0);
    expect(rowsFor(await accountPage(jars.a))).toBe(0);
    const ledger = await server.services.stores.durable.audit.listAuditEvents({ type: 'grant.revoked', subject: alice.id, limit: 10 });
    expect(ledger).toEqual([expect.objectContaining({ clientId: web.clientId, details: { grantId: grantIdOf(sessions.a!.tokens.access_token) },
      permissions: expect.arrayContaining(['openid', 'message:send']) })]);
    // The sessions' binding to the app is gone with the grant: the app gets nothing without asking.
    const { url } = await authorizationRequest('openid message:send', { prompt: 'none' });
    const silent = await follow(jars.b, server.issuer, url);
    expect(new URL(silent.url).searchParams.get('error')).toBe('consent_required');
  });
});

describe('two sessions consenting at the same time', () => {
  it('two consent pages open at once: the second "allow" joins the grant the first one made', async () => {
    const bob = await newAccount('bob');
    const [jarA, jarB] = [new CookieJar(), new CookieJar()];
    const [requestA, requestB] = await Promise.all([authorizationRequest('openid message:send'), authorizationRequest('openid message:send')]);
    const pageA = await walk(jarA, requestA.url, bob.email, true);
    const pageB = await walk(jarB, requestB.url, bob.email, true);
    for (const [page, jar, { config, verifier }] of [[pageA, jarA, requestA], [pageB, jarB, requestB]] as const) {
      const posted = await page.allow!();
      const callback = await follow(jar, server.issuer, new URL(posted.headers.get('location')!, server.issuer).href);
      await client.authorizationCodeGrant(config, new URL(callback.url), { pkceCodeVerifier: verifier, idTokenExpected: true });
    }
    expect(await grantsOf(bob.id)).toHaveLength(1);
  });

  it('grants a race left behind show as one app and are removed together', async () => {
    const carol = await newAccount('carol');
    const [jarA, jarB] = [new CookieJar(), new CookieJar()];
    const first = await signIn(jarA, carol.email, 'openid offline_access message:send', { prompt: 'consent' });
    // What two consents written at the same instant leave: a second grant for the same person and app.
    const now = Math.floor(Date.now() / 1000);
    await server.services.stores.durable.artifacts.upsert('Grant', 'raced-grant', {
      kind: 'Grant', accountId: carol.id, clientId: web.clientId, iat: now - 60, exp: now + 3600,
      openid: { scope: 'openid offline_access' }, resources: { [API_AUDIENCE]: 'message:send' },
    }, 3600);
    const second = await signIn(jarB, carol.email, 'openid offline_access message:send', { prompt: 'consent' });
    expect(grantIdOf(second.tokens.access_token)).toBe('raced-grant'); // the oldest: every session picks the same one
    expect(grantIdOf(first.tokens.access_token)).not.toBe('raced-grant');
    expect(await grantsOf(carol.id)).toHaveLength(2);
    expect(rowsFor(await accountPage(jarA))).toBe(1);

    await removeAccess(jarA);
    expect(await grantsOf(carol.id)).toHaveLength(0);
    expect(await timeUntilAllRefused([first.tokens.access_token, second.tokens.access_token])).toBeLessThan(1000);
    for (const { config, tokens } of [first, second]) {
      await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    }
  });
});

describe('signing out of one browser', () => {
  it('ends that session only: its access tokens die within 1 s, the other browsers keep theirs, the consent is kept', async () => {
    const dave = await newAccount('dave');
    const [jarA, jarB] = [new CookieJar(), new CookieJar()];
    const kept = await signIn(jarA, dave.email, 'openid offline_access message:send', { prompt: 'consent' });
    // No offline_access here: oidc-provider would revoke this session's grant at logout.
    const leaving = await signIn(jarB, dave.email, 'openid message:send');
    expect(leaving.asked).toEqual(['login']);
    expect((await sendMessage(leaving.tokens.access_token)).status).toBe(201);

    const question = await (await request(jarB, `${server.issuer}/session/end`)).text();
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(question)![1]!;
    const confirmed = await request(jarB, `${server.issuer}/session/end/confirm`, { form: { xsrf, logout: 'yes' } });
    expect(confirmed.status).toBe(303);
    expect((await request(jarB, `${server.issuer}/account`)).status).toBe(302); // signed out there
    // The session's JWT access token dies at the resource server at once, not in 10 minutes.
    expect(await timeUntilAllRefused([leaving.tokens.access_token])).toBeLessThan(1000);
    expect((await sendMessage(kept.tokens.access_token)).status).toBe(201);

    const refreshed = await client.refreshTokenGrant(kept.config, kept.tokens.refresh_token!);
    expect((await sendMessage(refreshed.access_token)).status).toBe(201);
    expect(await grantsOf(dave.id)).toHaveLength(1);
    expect((await signIn(new CookieJar(), dave.email, 'openid message:send')).asked).toEqual(['login']);
  });
});

describe('the /account row', () => {
  it('lists only what the app can obtain today: not a permission the role or the app lost since', async () => {
    const erin = await newAccount('erin', ['member', 'support']);
    const created = await createApplication(server.services.applicationDeps,
      { name: 'Call Centre', type: 'web', redirectUris: [REDIRECT_URI], scope: 'openid email message:send message:read calls:read' }, actor);
    const callCentre = { clientId: created.application.clientId, secret: created.secret!.clientSecret };
    const jar = new CookieJar();
    const { tokens } = await signIn(jar, erin.email, 'openid email message:send message:read calls:read', {}, callCentre);
    expect(decodeJwt(tokens.access_token).scope).toBe('message:send message:read calls:read');
    expect(rowPermissions(await accountPage(jar), callCentre.clientId)).toEqual(expect.arrayContaining(
      ['See your email address', 'Send messages as you', 'Read your messages', 'See your voice and video call records']));

    // Now a member only: the grant still holds calls:read, but no token can carry it any more.
    await setAccountRoles(server.services.accountDeps, erin.email, ['member'], actor);
    let permissions = rowPermissions(await accountPage(jar), callCentre.clientId);
    expect(permissions).toContain('Send messages as you');
    expect(permissions).not.toContain('See your voice and video call records');

    // The application may no longer ask for message:read (its allow-list narrowed).
    const { applications } = server.services.stores.durable;
    const application = (await applications.findApplicationByClientId(callCentre.clientId))!;
    expect(await applications.replaceApplication({ ...application, scope: 'openid message:send calls:read' }, application.version)).toBe(true);
    permissions = rowPermissions(await accountPage(jar), callCentre.clientId);
    expect(permissions).toEqual(['Sign you in with your TokenIM account', 'Send messages as you']);
  });
});
