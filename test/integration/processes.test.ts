// Real server processes: restarts keep what they must, SIGTERM ends cleanly, and two processes
// sharing one DATA_DIR (and one Redis) serve one issuer with codes redeemable exactly once.
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { makeTempDir } from '../helpers/temp-dir.ts';
import { cli, spawnServer, type ServerProcess } from '../helpers/spawn-server.ts';
import { signInAndConsent } from '../helpers/browserless-login.ts';
import { startTestRedis } from '../helpers/redis-server.ts';
import { decodeProtectedHeader } from 'jose';
import { createTokenVerifier } from '../../src/resource-server/verify-access-token.ts';

const testRedis = await startTestRedis();
const PASSWORD = 'a sufficiently long password';
const REDIRECT_URI = 'http://localhost/callback';
const running: ServerProcess[] = [];
const dirs: { remove(): void }[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});
afterAll(async () => {
  dirs.forEach((d) => d.remove());
  await testRedis?.stop();
});

async function setUp(extraEnv: Record<string, string> = {}) {
  const dir = makeTempDir('processes');
  dirs.push(dir);
  const env = { DATA_DIR: dir.path, ...extraEnv };
  const email = 'lin@example.test';
  await cli(env, 'users', 'create', '--email', email, '--password', PASSWORD, '--verified');
  const web = await cli(env, 'clients', 'create', '--name', 'Web', '--type', 'web', '--redirect-uri', REDIRECT_URI);
  return { env, email, web: { clientId: String(web.client_id), secret: String(web.client_secret) } };
}

async function start(env: Record<string, string>) {
  const server = await spawnServer(env);
  running.push(server);
  return server;
}

async function issueCode(issuer: string, web: { clientId: string; secret: string }, email: string) {
  const config = await client.discovery(new URL(issuer), web.clientId, undefined, client.ClientSecretBasic(web.secret), {
    execute: [client.allowInsecureRequests],
  });
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI, scope: 'openid offline_access message:send', prompt: 'consent',
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  const callback = new URL(await signInAndConsent(issuer, url.href, { email, password: PASSWORD }));
  return { config, code: callback.searchParams.get('code')!, verifier };
}

function redeem(tokenUrl: string, web: { clientId: string; secret: string }, code: string, verifier: string) {
  return fetch(tokenUrl, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${web.clientId}:${web.secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }),
  });
}

describe('restart', () => {
  it('keeps accounts, clients, signing keys (same kid) and refresh tokens; SIGTERM exits 0', async () => {
    const { env, email, web } = await setUp();
    const first = await start(env);
    const kids = async (url: string) => ((await (await fetch(`${url}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    const kidsBefore = await kids(first.url);
    const { config, code, verifier } = await issueCode(first.url, web, email);
    const tokens = await client.authorizationCodeGrant(config, new URL(`${REDIRECT_URI}?code=${code}&iss=${encodeURIComponent(first.url)}`),
      { pkceCodeVerifier: verifier, idTokenExpected: true });
    expect(await first.stop()).toBe(0);

    const second = await start({ ...env, PORT: new URL(first.url).port });
    expect(await kids(second.url)).toEqual(kidsBefore);
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.access_token).toEqual(expect.any(String));
    const again = await issueCode(second.url, web, email);
    expect(again.code).toEqual(expect.any(String));
  });

  it('a bad setting stops start-up with one line naming the variable', async () => {
    await expect(spawnServer({ PORT: 'eighty', DATA_DIR: makeTempDir('bad').path })).rejects.toThrow(
      /configuration error: PORT: must be a whole number from 1 to 65535 \(got "eighty"\)/,
    );
  });
});

describe('signing-key rotation', () => {
  it('a resource server verifies tokens signed with the new key (unknown kid → JWKS refetched) and the old ones still', async () => {
    const dir = makeTempDir('rotation');
    dirs.push(dir);
    const env = { DATA_DIR: dir.path };
    const bot = await cli(env, 'clients', 'create', '--name', 'Bot', '--type', 'service', '--scope', 'message:send');
    const tokenFrom = async (url: string) => {
      const response = await fetch(`${url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${bot.client_id}:${bot.client_secret}`).toString('base64')}` },
        body: 'grant_type=client_credentials&scope=message%3Asend',
      });
      return ((await response.json()) as { access_token: string }).access_token;
    };
    const first = await start(env);
    const verify = createTokenVerifier({ issuer: first.url, audience: 'urn:tokenim:api', jwksCooldownMs: 0 });
    const before = await tokenFrom(first.url);
    await verify(before);
    expect(await first.stop()).toBe(0);
    // No publish delay: this test is about a restart, not about the timeline (key-rotation.test.ts).
    const rotated = await cli({ ...env, KEY_PUBLISH_DELAY_SECONDS: '0' }, 'keys', 'rotate');
    const second = await start({ ...env, PORT: new URL(first.url).port });
    const after = await tokenFrom(second.url);
    expect(decodeProtectedHeader(after).kid).toBe((rotated.added_kids as string[])[0]);
    expect(decodeProtectedHeader(after).kid).not.toBe(decodeProtectedHeader(before).kid);
    await expect(verify(after)).resolves.toMatchObject({ claims: { client_id: bot.client_id } });
    await expect(verify(before)).resolves.toBeDefined();
  });
});

const sharedModes: [string, () => Record<string, string>][] = [['one DATA_DIR', () => ({})]];
if (testRedis) sharedModes.push(['one DATA_DIR and one Redis', () => ({ REDIS_URL: testRedis.url })]);

describe.each(sharedModes)('two processes sharing %s', (_mode, extraEnv) => {
  it('serve one issuer: a code issued by one is redeemed at the other', async () => {
    const { env, email, web } = await setUp(extraEnv());
    const a = await start(env);
    const b = await start({ ...env, ISSUER: a.url });
    const { code, verifier } = await issueCode(a.url, web, email);
    const response = await redeem(`${b.url}/token`, web, code, verifier);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ token_type: 'Bearer', id_token: expect.any(String) });
  });

  it('of 20 parallel redemptions of one code across both, exactly one gets tokens; the rest get 400 invalid_grant', async () => {
    const { env, email, web } = await setUp(extraEnv());
    const a = await start(env);
    const b = await start({ ...env, ISSUER: a.url });
    for (let round = 0; round < 3; round += 1) {
      const { code, verifier } = await issueCode(a.url, web, email);
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) => redeem(`${i % 2 ? b.url : a.url}/token`, web, code, verifier)),
      );
      const bodies = await Promise.all(responses.map((r) => r.json() as Promise<Record<string, unknown>>));
      const statuses = responses.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.filter((s) => s === 400)).toHaveLength(19);
      expect(bodies.filter((body) => body.error === 'invalid_grant')).toHaveLength(19);
    }
  });
});
