// Issue 10 item 4: deleting an application (/developers) or revoking it (`tokenim-auth clients
// revoke`) revokes every authorization people gave it, with their refresh tokens, and publishes
// the revocation; a resource server introspecting a token of an application that is gone or
// switched off gets {"active": false} (RFC 7662 §2.2), never a 500.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { createDeveloperApplication } from '../../src/applications/create-developer-application.ts';
import { disableApplication, enableApplication } from '../../src/applications/set-application-enabled.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { CookieJar, csrfFrom, follow, request, signInAndConsent } from '../helpers/browserless-login.ts';
import { authorizationRequest, type RelyingParty } from '../helpers/relying-party.ts';
import { cli } from '../helpers/spawn-server.ts';

const actor = { kind: 'system', id: 'test' } as const;
const PASSWORD = 'applications come and go';
const REDIRECT_URI = 'http://localhost/callback';
let server: TestServer;
let resourceServer: RelyingParty;

beforeAll(async () => {
  server = await startTestServer();
  const rs = await createApplication(server.services.applicationDeps, { name: 'IM API', type: 'service', isResourceServer: true }, actor);
  resourceServer = { clientId: rs.application.clientId, secret: rs.secret!.clientSecret };
});
afterAll(() => server.close());

let people = 0;
/** A new account signed in to the account pages in its own cookie jar. */
async function signedInPerson(path = '/account') {
  people += 1;
  const email = `person${people}@example.test`;
  const account = await createAccount(server.services.accountDeps, { email, password: PASSWORD, name: 'P', emailVerified: true }, actor);
  const jar = new CookieJar();
  const login = await follow(jar, server.issuer, `${server.issuer}${path}`);
  const posted = await request(jar, `${login.url}/login`, { form: { email, password: PASSWORD, _csrf: csrfFrom(await login.response.text()) } });
  await follow(jar, server.issuer, new URL(posted.headers.get('location')!, server.issuer).href);
  return { id: account.id, email, jar };
}

/** The person authorizes `app` with a refresh token (offline_access needs prompt=consent, OIDC Core §11). */
async function authorize(app: RelyingParty, person: { email: string; jar: CookieJar }) {
  const flow = await authorizationRequest(server.issuer, app, REDIRECT_URI, { scope: 'openid offline_access message:send', prompt: 'consent' });
  const callback = await signInAndConsent(server.issuer, flow.url.href, { email: person.email, password: PASSWORD }, 'allow', person.jar);
  const tokens = await flow.redeem(callback);
  expect(tokens.refresh_token).toEqual(expect.any(String));
  return { config: flow.config, tokens, grantId: String(decodeJwt(tokens.access_token).grant_id) };
}

/** A form post with HTTP Basic client authentication: the HTTP status and the JSON body. */
async function postAs(app: RelyingParty, path: string, form: Record<string, string>) {
  const response = await fetch(`${server.issuer}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${app.clientId}:${app.secret}`).toString('base64')}` },
    body: new URLSearchParams(form).toString(),
  });
  return { status: response.status, body: await response.json() as Record<string, unknown> };
}
/** RFC 7662 at the introspection endpoint, as the resource server. */
const introspect = (token: string) => postAs(resourceServer, '/token/introspection', { token });

const listsApp = async (jar: CookieJar, clientId: string) =>
  (await (await request(jar, `${server.issuer}/account`)).text()).includes(`data-connected-app="${clientId}"`);
const grantsOf = async (accountId: string, clientId: string) =>
  (await server.services.stores.durable.artifacts.listByAccountId('Grant', accountId)).filter(({ payload }) => payload.clientId === clientId);
const grantRevocations = async (subject: string) =>
  server.services.stores.durable.audit.listAuditEvents({ type: 'grant.revoked', subject, limit: 100 });
const publishedGrantRevocations = async (since: Date) =>
  (await server.services.stores.durable.revocations.listRevocationsSince(since, 1000)).filter((e) => e.kind === 'grant').map((e) => e.value);

/** What must hold once the application is ended: nothing of it is left for the person. */
async function expectNothingLeft(person: { id: string; jar: CookieJar }, app: RelyingParty,
  signedIn: Awaited<ReturnType<typeof authorize>>, since: Date) {
  expect(await introspect(signedIn.tokens.refresh_token!)).toEqual({ status: 200, body: { active: false } });
  // The client is unknown (401 invalid_client) or, on an instance whose client cache has not heard
  // of the change yet, the refresh token is (400 invalid_grant).
  const refreshed = await postAs(app, '/token', { grant_type: 'refresh_token', refresh_token: signedIn.tokens.refresh_token! });
  expect([[401, 'invalid_client'], [400, 'invalid_grant']]).toContainEqual([refreshed.status, refreshed.body.error]);
  expect(await grantsOf(person.id, app.clientId)).toEqual([]);
  expect(await listsApp(person.jar, app.clientId)).toBe(false);
  expect(await publishedGrantRevocations(since)).toContain(signedIn.grantId);
}

/** The web app the operator registers for these tests (createApplication, as the console and CLI do). */
async function registerChatWeb(): Promise<{ clientId: string; secret: string }> {
  const created = await createApplication(server.services.applicationDeps,
    { name: 'Chat web', type: 'web', scope: 'openid offline_access message:send', redirectUris: [REDIRECT_URI] }, actor);
  return { clientId: created.application.clientId, secret: created.secret!.clientSecret };
}

describe('deleting an application on /developers', () => {
  it('revokes the grants people gave it: introspection says inactive, the refresh token fails, /account drops it, grant.revoked', async () => {
    const developer = await signedInPerson('/developers');
    const created = await createDeveloperApplication(server.services.applicationDeps,
      (await server.services.stores.durable.accounts.findAccountById(developer.id))!,
      { name: 'Chat web', type: 'web', scope: 'openid offline_access message:send', redirectUris: [REDIRECT_URI] });
    const app = { clientId: created.application.clientId, secret: created.secret!.clientSecret };

    const person = await signedInPerson();
    const signedIn = await authorize(app, person);
    expect(await introspect(signedIn.tokens.refresh_token!)).toMatchObject({ status: 200, body: { active: true, client_id: app.clientId } });
    expect(await listsApp(person.jar, app.clientId)).toBe(true);

    const since = new Date(Date.now() - 1000);
    const appPage = `${server.issuer}/developers/applications/${app.clientId}`;
    const deleted = await request(developer.jar, `${appPage}/delete`,
      { form: { confirm: 'yes', _csrf: csrfFrom(await (await request(developer.jar, appPage)).text()) } });
    expect(deleted.status).toBe(303);

    await expectNothingLeft(person, app, signedIn, since);
    expect(await grantRevocations(person.id)).toEqual([expect.objectContaining({ actor: { kind: 'account', id: developer.id },
      clientId: app.clientId, permissions: expect.arrayContaining(['openid', 'message:send']),
      details: { grantId: signedIn.grantId, reason: 'client.deleted' } })]);
  });
});

describe('tokenim-auth clients revoke', () => {
  it('revokes the grants of the application too, with the CLI as actor', async () => {
    const app = await registerChatWeb();
    const person = await signedInPerson();
    const signedIn = await authorize(app, person);
    expect(await listsApp(person.jar, app.clientId)).toBe(true);

    const since = new Date(Date.now() - 1000);
    expect(await cli({ DATA_DIR: server.dataDir }, 'clients', 'revoke', '--client-id', app.clientId))
      .toMatchObject({ client_id: app.clientId, authorizations_revoked: 1 });

    await expectNothingLeft(person, app, signedIn, since);
    expect(await grantRevocations(person.id)).toEqual([expect.objectContaining({ actor: expect.objectContaining({ kind: 'cli' }),
      clientId: app.clientId, details: { grantId: signedIn.grantId, reason: 'client.revoked' } })]);
  });
});

describe('an end that failed partway', () => {
  it('asking again revokes the grants left behind, instead of answering "not found"', async () => {
    const app = await registerChatWeb();
    const person = await signedInPerson();
    const signedIn = await authorize(app, person);
    // As if the store failed right after the application was marked ended: its grant is still there.
    await server.services.applicationDeps.applications.updateApplication(app.clientId, (a) => ({ ...a, revokedAt: new Date() }));
    const since = new Date(Date.now() - 1000);
    expect(await cli({ DATA_DIR: server.dataDir }, 'clients', 'revoke', '--client-id', app.clientId))
      .toMatchObject({ client_id: app.clientId, authorizations_revoked: 1 });
    await expectNothingLeft(person, app, signedIn, since);
  });
});

describe('introspection of a token whose application the provider does not know', () => {
  it('a disabled application (its grants kept): {"active": false}, not a 500; active again once it is enabled', async () => {
    const app = await registerChatWeb();
    const { tokens } = await authorize(app, await signedInPerson());

    await disableApplication(server.services.applicationDeps, app.clientId, actor);
    expect(await introspect(tokens.refresh_token!)).toEqual({ status: 200, body: { active: false } });
    await enableApplication(server.services.applicationDeps, app.clientId, actor);
    expect(await introspect(tokens.refresh_token!)).toMatchObject({ status: 200, body: { active: true, client_id: app.clientId } });
  });
});
