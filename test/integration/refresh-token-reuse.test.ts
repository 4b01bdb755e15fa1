// grant_type=refresh_token with a reuse interval (issue 13 item 4): a refresh whose answer was lost
// may be retried with the same refresh token for a short while and gets a fresh pair of the same
// grant; after the interval, or once the successor was used, reuse revokes the grant (RFC 9700
// §4.14.2). Concurrent retries, at one instance or two, leave one live refresh token.
import { afterAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import * as client from 'openid-client';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import type { Config } from '../../src/config/schema.ts';
import { signInAndConsent } from '../helpers/browserless-login.ts';
import { authorizationRequest, discoverAs } from '../helpers/relying-party.ts';
import { claimRetry } from '../../src/oidc/refresh-token-reuse.ts';
import { createSqliteStores } from '../../src/storage/sqlite/create-sqlite-stores.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';

const actor = { kind: 'system', id: 'test' } as const;
const REDIRECT_URI = 'http://localhost/cb';
const servers: TestServer[] = [];
const shared = makeTempDir('refresh-reuse');
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  shared.remove();
});

async function start(reuseIntervalSeconds: number, env: Record<string, string> = {}) {
  const server = await startTestServer({ env,
    configure: (c: Config) => ({ ...c, refreshTokens: { reuseIntervalSeconds } }) });
  servers.push(server);
  return server;
}

let people = 0;
/** A person signs in to a web app with offline_access: the app holds its first token pair. */
async function signedInApp(server: TestServer) {
  people += 1;
  const email = `refresh${people}@example.test`;
  const password = 'refresh tokens get lost in flight';
  await createAccount(server.services.accountDeps, { email, password, emailVerified: true }, actor);
  const { application, secret } = await createApplication(server.services.applicationDeps,
    { name: 'Flaky network app', type: 'web', scope: 'message:send', redirectUris: [REDIRECT_URI] }, actor);
  const app = { clientId: application.clientId, secret: secret!.clientSecret };
  const started = await authorizationRequest(server.issuer, app, REDIRECT_URI,
    { scope: 'openid offline_access message:send', prompt: 'consent' });
  const tokens = await started.redeem(await signInAndConsent(server.issuer, started.url.href, { email, password }));
  const grantId = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()).grant_id as string;
  return { app, config: started.config, tokens, grantId };
}

const refresh = (config: client.Configuration, refreshToken: string) => client.refreshTokenGrant(config, refreshToken);
const grantExists = async (server: TestServer, grantId: string) =>
  (await server.services.stores.durable.artifacts.find('Grant', grantId)) !== undefined;
const reuseRevocations = async (server: TestServer, clientId: string) =>
  (await server.services.stores.durable.audit.queryAuditEvents({ type: 'grant.revoked', clientId, limit: 10 }))
    .filter((e) => e.details.reason === 'refresh_token_reused');
/** Refresh tokens of the grant that a client could still redeem (stored, unexpired, unconsumed). */
const liveRefreshTokens = (server: TestServer, grantId: string) => Number((server.services.stores.sqlite!.prepare(
  `SELECT count(*) AS n FROM oidc_artifacts WHERE model = 'RefreshToken' AND grant_id = ? AND consumed_at IS NULL
   AND (expires_at IS NULL OR expires_at > ?)`).get(grantId, Date.now()) as { n: number }).n);

describe('grant_type=refresh_token with a reuse interval', () => {
  it('within the interval, the lost refresh is retried: a working pair, the grant kept, the lost successor dead', async () => {
    const server = await start(30);
    const { app, config, tokens, grantId } = await signedInApp(server);
    const lost = await refresh(config, tokens.refresh_token!);
    const retried = await refresh(config, tokens.refresh_token!);
    expect(retried.access_token).toEqual(expect.any(String));
    expect(retried.refresh_token).not.toBe(lost.refresh_token);
    expect(retried.refresh_token).not.toBe(tokens.refresh_token);
    // The answer that never arrived is not a second chain: its refresh token no longer works.
    await expect(refresh(config, lost.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await grantExists(server, grantId)).toBe(true);
    const next = await refresh(config, retried.refresh_token!);
    expect(next.refresh_token).toEqual(expect.any(String));
    expect(liveRefreshTokens(server, grantId)).toBe(1);
    expect(await reuseRevocations(server, app.clientId)).toEqual([]);
  });

  it('within the interval, a token whose successor was already used is reuse: invalid_grant, the grant revoked', async () => {
    const server = await start(30);
    const { app, config, tokens, grantId } = await signedInApp(server);
    const received = await refresh(config, tokens.refresh_token!);
    const later = await refresh(config, received.refresh_token!);
    await expect(refresh(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await grantExists(server, grantId)).toBe(false);
    await expect(refresh(config, later.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await reuseRevocations(server, app.clientId)).toHaveLength(1);
  });

  it('concurrent retries at two instances leave one live refresh token, and the grant', async () => {
    const env = { DATA_DIR: shared.path };
    const [a, b] = [await start(30, env), await start(30, env)];
    const { app, config, tokens, grantId } = await signedInApp(a);
    const configAtB = await discoverAs(b.issuer, app);
    await refresh(config, tokens.refresh_token!);
    const results = await Promise.allSettled([a, b, a, b].map((_s, i) => refresh(i % 2 ? configAtB : config, tokens.refresh_token!)));
    const succeeded = results.filter((r) => r.status === 'fulfilled');
    expect(succeeded.length).toBeGreaterThanOrEqual(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ error: 'invalid_grant' });
    expect(await grantExists(a, grantId)).toBe(true);
    expect(liveRefreshTokens(a, grantId)).toBe(1);
    // Of the pairs handed out, exactly one refresh token still works.
    const again = await Promise.allSettled(succeeded.map((r) => refresh(config, (r as PromiseFulfilledResult<client.TokenEndpointResponse>).value.refresh_token!)));
    expect(again.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('after the interval (1 s here), reuse is invalid_grant and revokes the grant', async () => {
    const server = await start(1);
    const { app, config, tokens, grantId } = await signedInApp(server);
    const received = await refresh(config, tokens.refresh_token!);
    await sleep(1200);
    await expect(refresh(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await grantExists(server, grantId)).toBe(false);
    await expect(refresh(config, received.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await reuseRevocations(server, app.clientId)).toHaveLength(1);
  });

  it('interval 0 keeps the strict behaviour: an immediate retry revokes the grant', async () => {
    const server = await start(0);
    const { app, config, tokens, grantId } = await signedInApp(server);
    await refresh(config, tokens.refresh_token!);
    await expect(refresh(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await grantExists(server, grantId)).toBe(false);
    expect(await reuseRevocations(server, app.clientId)).toHaveLength(1);
  });

  it('of concurrent claims on one rotated token, exactly one takes its successor out of play', async () => {
    const stores = createSqliteStores(`${shared.path}/claims.sqlite`);
    try {
      const exp = Math.floor(Date.now() / 1000) + 600;
      await stores.artifacts.upsert('RefreshToken', 'successor', { grantId: 'g1', exp }, 600);
      await stores.artifacts.upsert('RefreshToken', 'rotated', { grantId: 'g1', exp, successor: 'successor' }, 600);
      expect(await stores.artifacts.consume('RefreshToken', 'rotated')).toBe(true);
      const outcomes = await Promise.all(Array.from({ length: 10 },
        () => claimRetry({ intervalSeconds: 30 }, stores.artifacts, 'RefreshToken', 'rotated')));
      expect(outcomes.filter((o) => o === 'retry')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'refused')).toHaveLength(9);
      expect(await stores.artifacts.find('RefreshToken', 'successor')).toBeUndefined();
      // Off, or for another model: the caller's reuse handling (revoke the grant) applies.
      expect(await claimRetry({ intervalSeconds: 0 }, stores.artifacts, 'RefreshToken', 'rotated')).toBe('reuse');
      expect(await claimRetry({ intervalSeconds: 30 }, stores.artifacts, 'AuthorizationCode', 'rotated')).toBe('reuse');
    } finally {
      stores.connection.close();
    }
  });
});
