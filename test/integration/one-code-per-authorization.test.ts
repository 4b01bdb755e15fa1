// One authorization, one code (RFC 6749 §4.1.2): when the browser resumes a finished interaction
// several times at once (double clicks, retries, a replayed resume URL), exactly one request
// gets a code; the Interaction is removed atomically in every backend.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis-server.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { CookieJar, csrfFrom, request } from '../helpers/browserless-login.ts';
import { createMfaFlow } from '../helpers/mfa-flow.ts';

const testRedis: TestRedis | undefined = await startTestRedis();
afterAll(() => testRedis?.stop());

const modes: [string, (() => string | undefined)][] = [['embedded (sqlite)', () => undefined]];
if (testRedis) modes.push(['redis', () => testRedis.url]);

const PASSWORD = 'one code per authorization';
const REDIRECT_URI = 'http://localhost/callback';
const ROUNDS = 5;
const PARALLEL = 8;

describe.each(modes)('resuming a finished authorization in parallel, %s mode', (_mode, redisUrl) => {
  let server: TestServer;
  let flow: ReturnType<typeof createMfaFlow>;
  let email: string;

  beforeAll(async () => {
    const url = redisUrl();
    server = await startTestServer(url ? { redisUrl: url, redisKeyPrefix: `${testRedis!.prefix}resume:` } : {});
    const actor = { kind: 'system', id: 'test' } as const;
    const { application, secret } = await createApplication(server.services.applicationDeps,
      { name: 'Chat Web', type: 'web', redirectUris: [REDIRECT_URI] }, actor);
    email = `resume.${Date.now()}@example.test`;
    await createAccount(server.services.accountDeps, { email, password: PASSWORD, emailVerified: true }, actor);
    flow = createMfaFlow(server, { clientId: application.clientId, secret: secret!.clientSecret }, REDIRECT_URI, PASSWORD);
  });

  afterAll(() => server?.close());

  /** Signs in and allows consent; returns the resume URL the consent answer redirects to, not yet followed. */
  async function consentGiven(jar: CookieJar, state: string) {
    // offline_access: the code is not bound to the session. oidc-provider saves the session it loaded
    // at the end of every request, so a losing request may write back the state it read over the
    // winner's (last writer wins), a separate issue; this test is about how many codes are issued.
    const { config, verifier, url } = await flow.authorization({ prompt: 'consent', state, scope: 'openid offline_access message:send' });
    const consent = await flow.post(jar, await flow.open(jar, url), '/login', { email, password: PASSWORD });
    const action = /action="([^"]*\/consent)"/.exec(consent.html)?.[1];
    if (!action) throw new Error(`no consent form at ${consent.url}`);
    const answer = await request(jar, new URL(action, server.issuer).href, { form: { decision: 'allow', _csrf: csrfFrom(consent.html) } });
    expect(answer.status).toBe(303);
    return { config, verifier, resumeUrl: new URL(answer.headers.get('location')!, server.issuer).href };
  }

  it(`gives exactly one of ${PARALLEL} parallel resumes a code, in each of ${ROUNDS} rounds; the others an error page`, async () => {
    for (let round = 0; round < ROUNDS; round += 1) {
      const jar = new CookieJar();
      const state = client.randomState();
      const { config, verifier, resumeUrl } = await consentGiven(jar, state);
      expect(resumeUrl).toMatch(new RegExp(`^${server.issuer}/auth/`));
      const responses = await Promise.all(Array.from({ length: PARALLEL }, () =>
        fetch(resumeUrl, { redirect: 'manual', headers: { cookie: jar.header() } })));
      const callbacks = responses.map((r) => r.headers.get('location') ?? '').filter((l) => l.startsWith(REDIRECT_URI));
      expect(callbacks.filter((l) => new URL(l).searchParams.has('code'))).toHaveLength(1);
      expect(callbacks).toHaveLength(1);
      expect(responses.map((r) => r.status).sort()).toEqual([303, ...Array<number>(PARALLEL - 1).fill(400)]);
      // The one code is a working one.
      const tokens = await client.authorizationCodeGrant(config, new URL(callbacks[0]!), { pkceCodeVerifier: verifier, expectedState: state });
      expect(tokens.access_token).toEqual(expect.any(String));
    }
  });
});
