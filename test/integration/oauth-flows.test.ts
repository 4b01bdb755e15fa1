// Protocol flows against the real server, driven by openid-client (a certified RP library), in
// embedded mode (SQLite only) and in Redis mode (short-lived artifacts in Redis).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis-server.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { signInAndConsent } from '../helpers/browserless-login.ts';

const testRedis: TestRedis | undefined = await startTestRedis();
afterAll(() => testRedis?.stop());

const modes: [string, (() => string | undefined)][] = [['embedded (sqlite)', () => undefined]];
if (testRedis) modes.push(['redis', () => testRedis.url]);

const PASSWORD = 'correct horse battery staple';
const actor = { kind: 'system', id: 'test' } as const;

describe.each(modes)('OAuth flows, %s mode', (_mode, redisUrl) => {
  let server: TestServer;
  let email: string;
  let service: { clientId: string; secret: string };
  let web: { clientId: string; secret: string; redirectUri: string };
  let resourceServer: { clientId: string; secret: string };

  const discover = (c: { clientId: string; secret: string }) =>
    client.discovery(new URL(server.issuer), c.clientId, undefined, client.ClientSecretBasic(c.secret), {
      execute: [client.allowInsecureRequests],
    });

  beforeAll(async () => {
    const url = redisUrl();
    server = await startTestServer(url ? { redisUrl: url, redisKeyPrefix: `${testRedis!.prefix}flows:` } : {});
    const { accountDeps, applicationDeps } = server.services;
    email = `ada.${Date.now()}@example.test`;
    await createAccount(accountDeps, { email, password: PASSWORD, name: 'Ada', emailVerified: true }, actor);
    const svc = await createApplication(applicationDeps, { name: 'Bot', type: 'service', scope: 'message:send calls:read' }, actor);
    service = { clientId: svc.application.clientId, secret: svc.secret!.clientSecret };
    const redirectUri = 'http://localhost/callback'; // never fetched: the walker stops when it leaves the issuer
    const app = await createApplication(applicationDeps, { name: 'Chat Web', type: 'web', redirectUris: [redirectUri] }, actor);
    web = { clientId: app.application.clientId, secret: app.secret!.clientSecret, redirectUri };
    const rs = await createApplication(applicationDeps, {
      name: 'IM API', type: 'service', scope: 'message:read', isResourceServer: true,
    }, actor);
    resourceServer = { clientId: rs.application.clientId, secret: rs.secret!.clientSecret };
  });

  afterAll(() => server?.close());

  /** Authorization code + PKCE through the login and consent pages; returns the token response. */
  async function authorize(scope = 'openid email profile offline_access message:send') {
    const config = await discover(web);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const authorizationUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: web.redirectUri, scope, state, prompt: 'consent',
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const callback = await signInAndConsent(server.issuer, authorizationUrl.href, { email, password: PASSWORD });
    const tokens = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state });
    return { config, tokens };
  }

  describe('discovery', () => {
    it('advertises the issuer, code flow with S256 PKCE only, and the token endpoints', async () => {
      const config = await discover(service);
      const metadata = config.serverMetadata();
      expect(metadata.issuer).toBe(server.issuer);
      expect(metadata.response_types_supported).toEqual(['code']);
      expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
      expect(metadata.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']));
      expect(metadata.introspection_endpoint).toBeDefined();
      expect(metadata.revocation_endpoint).toBeDefined();
      expect(metadata.end_session_endpoint).toBeDefined();
      expect(metadata.token_endpoint_auth_methods_supported).not.toContain('client_secret_jwt');
    });
  });

  describe('grant_type=client_credentials', () => {
    it('issues an RFC 9068 JWT that verifies against the JWKS, with scope, client_id and aud', async () => {
      const config = await discover(service);
      const tokens = await client.clientCredentialsGrant(config, { scope: 'message:send' });
      expect(tokens.refresh_token).toBeUndefined();
      expect(tokens.id_token).toBeUndefined();
      expect(tokens.scope).toBe('message:send');
      const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
      const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
        issuer: server.issuer, audience: 'urn:tokenim:api', typ: 'at+jwt',
      });
      expect(protectedHeader.alg).toBe('ES256');
      expect(payload).toMatchObject({ scope: 'message:send', client_id: service.clientId, sub: service.clientId });
    });

    it('grants only scopes the client is allowed (least privilege)', async () => {
      const config = await discover(service);
      const tokens = await client.clientCredentialsGrant(config, { scope: 'message:send audit:read' });
      expect(tokens.scope).toBe('message:send');
    });
  });

  describe('grant_type=authorization_code with PKCE, through the login page', () => {
    it('returns an ID token for the signed-in account, an API access token and a refresh token', async () => {
      const { config, tokens } = await authorize();
      const claims = tokens.claims()!;
      expect(claims).toMatchObject({ iss: server.issuer, aud: web.clientId, email, amr: ['pwd'], acr: 'urn:tokenim:acr:pwd' });
      expect(tokens.refresh_token).toEqual(expect.any(String));
      const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
      const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: server.issuer, audience: 'urn:tokenim:api', typ: 'at+jwt' });
      expect(payload).toMatchObject({ sub: claims.sub, client_id: web.clientId, scope: 'message:send', roles: ['member'] });
      expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('RS256');
    });

    it('returns access_denied to the app when the person denies consent', async () => {
      const config = await discover(web);
      const authorizationUrl = client.buildAuthorizationUrl(config, {
        redirect_uri: web.redirectUri, scope: 'openid', state: 's1', prompt: 'consent',
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256',
      });
      const callback = new URL(await signInAndConsent(server.issuer, authorizationUrl.href, { email, password: PASSWORD }, 'deny'));
      expect(callback.searchParams.get('error')).toBe('access_denied');
      expect(callback.searchParams.get('state')).toBe('s1');
      expect(callback.searchParams.get('code')).toBeNull();
    });
  });

  describe('grant_type=refresh_token', () => {
    it('rotates the refresh token; reusing the old one once the new one was used fails and revokes the grant', async () => {
      const { config, tokens } = await authorize();
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
      expect(refreshed.access_token).toEqual(expect.any(String));
      expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
      // Using the new one shows the answer arrived: the old one is no longer a retry (refresh-token-reuse.test.ts).
      const latest = await client.refreshTokenGrant(config, refreshed.refresh_token!);
      await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
      // Reuse detection (RFC 9700 §4.14.2): the rotated token died with the grant.
      await expect(client.refreshTokenGrant(config, latest.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    });
  });

  describe('revocation (RFC 7009) and introspection (RFC 7662)', () => {
    it('a revoked refresh token no longer refreshes, and introspects as inactive', async () => {
      const { config, tokens } = await authorize();
      const rs = await discover(resourceServer);
      expect(await client.tokenIntrospection(rs, tokens.refresh_token!)).toMatchObject({
        active: true, client_id: web.clientId, sub: tokens.claims()!.sub,
      });
      await client.tokenRevocation(config, tokens.refresh_token!);
      await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
      expect(await client.tokenIntrospection(rs, tokens.refresh_token!)).toEqual({ active: false });
    });

    it("another client cannot revoke an app's refresh token (RFC 7009 §2.1): refused, and it keeps working", async () => {
      const { config, tokens } = await authorize();
      const other = await discover(service);
      await expect(client.tokenRevocation(other, tokens.refresh_token!)).rejects.toMatchObject({
        status: 400, error: 'unauthorized_client', error_description: 'this token was not issued to this client',
      });
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
      expect(refreshed.access_token).toEqual(expect.any(String));
    });

    it('only resource-server clients may introspect: others learn nothing', async () => {
      const { config, tokens } = await authorize();
      expect(await client.tokenIntrospection(config, tokens.refresh_token!)).toEqual({ active: false });
    });
  });
});
