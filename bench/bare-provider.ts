// The baseline of every benchmark: bare oidc-provider, as its README sets it up, configured to
// issue what ours issues and nothing more: the development in-memory adapter, static clients
// with plain secrets, a static account, an ES256 key for RFC 9068 JWT access tokens to the
// TokenIM API (resource indicators, as src/oidc/resource-indicators.ts) and an RS256 key for ID
// tokens (as src/keys/keyring.ts), refresh token rotation (as src/oidc/create-provider.ts).
// Started by the suite with fork(), as plain JavaScript (bench/support/servers.ts strips the
// types first: Node's type stripper alone holds ~17 MB, which a bare oidc-provider does not
// carry). So it imports only oidc-provider and node: modules. The parent asks it over IPC for
// tokens to refresh or to introspect (the tokens a sign-in would leave, minted directly: a
// sign-in is not what is measured there). Reads PORT, ISSUER, BARE_SECRET and BARE_API_SCOPES.
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';

export const BARE_CLIENTS = { service: 'bench-service', web: 'bench-web', resourceServer: 'bench-api' } as const;
export const API_AUDIENCE = 'urn:tokenim:api';
export const REDIRECT_URI = 'http://localhost/callback';
export const ACCOUNT_ID = 'bench-account';

/** What the parent asks for: `count` tokens of a kind, each on a grant of its own. */
export interface MintRequest { kind: 'refresh' | 'opaque-access'; count: number }

function signingKeys(): JsonWebKey[] {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  return [{ ...ec, kid: 'es256', alg: 'ES256', use: 'sig' }, { ...rsa, kid: 'rs256', alg: 'RS256', use: 'sig' }];
}

const isClientCredentials = (ctx: KoaContextWithOIDC) => ctx.oidc.params?.grant_type === 'client_credentials';

export function createBareProvider(issuer: string, secret: string, apiScopes: string): Provider {
  const configuration: Configuration = {
    clients: [
      { client_id: BARE_CLIENTS.service, client_secret: secret, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
      { client_id: BARE_CLIENTS.web, client_secret: secret, grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'], redirect_uris: [REDIRECT_URI], scope: 'openid offline_access profile email' },
      { client_id: BARE_CLIENTS.resourceServer, client_secret: secret, grant_types: [], response_types: [], redirect_uris: [] },
    ],
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub, email: 'bench@example.test', email_verified: true, name: 'Bench' }) }),
    jwks: { keys: signingKeys() as NonNullable<Configuration['jwks']>['keys'] },
    cookies: { keys: ['bench-cookie-key-bench-cookie-key'] },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    claims: { openid: ['sub', 'acr', 'amr', 'auth_time'], profile: ['name'], email: ['email', 'email_verified'] },
    responseTypes: ['code'],
    rotateRefreshToken: true,
    ttl: { AccessToken: 600, ClientCredentials: 600, AuthorizationCode: 60, IdToken: 3600, RefreshToken: 2_592_000, Grant: 31_536_000,
      Interaction: 900, Session: 1_209_600 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx) => (isClientCredentials(ctx) || /\bmessage:/.test(ctx.oidc.params?.scope as string ?? '') ? API_AUDIENCE : undefined),
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: apiScopes, audience: API_AUDIENCE, accessTokenFormat: 'jwt', accessTokenTTL: 600, jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
  };
  return new Provider(issuer, configuration);
}

/** The tokens a sign-in with `scope` would have left: a grant, then a refresh or opaque access token on it. */
async function mint(provider: Provider, { kind, count }: MintRequest): Promise<string[]> {
  const client = await provider.Client.find(BARE_CLIENTS.web);
  if (!client) throw new Error('no web client');
  const tokens: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const grant = new provider.Grant({ accountId: ACCOUNT_ID, clientId: client.clientId });
    if (kind === 'refresh') {
      grant.addOIDCScope('openid offline_access profile email');
      grant.addResourceScope(API_AUDIENCE, 'message:send');
      const grantId = await grant.save();
      tokens.push(await new provider.RefreshToken({ accountId: ACCOUNT_ID, client, grantId, gty: 'authorization_code',
        scope: 'openid offline_access profile email message:send', resource: API_AUDIENCE, authTime: Math.floor(Date.now() / 1000),
        amr: ['pwd'] }).save());
    } else {
      grant.addOIDCScope('openid profile email');
      const grantId = await grant.save();
      tokens.push(await new provider.AccessToken({ accountId: ACCOUNT_ID, client, grantId, gty: 'authorization_code',
        scope: 'openid profile email' }).save());
    }
  }
  return tokens;
}

if (import.meta.main && process.send) {
  const { PORT, ISSUER, BARE_SECRET, BARE_API_SCOPES } = process.env;
  if (!PORT || !ISSUER || !BARE_SECRET || !BARE_API_SCOPES) throw new Error('PORT, ISSUER, BARE_SECRET and BARE_API_SCOPES are required');
  const provider = createBareProvider(ISSUER, BARE_SECRET, BARE_API_SCOPES);
  // SIGTERM (the default action) ends it: nothing here needs a graceful stop.
  provider.listen(Number(PORT), '127.0.0.1', () => process.send!({ type: 'ready' }));
  process.on('message', (message: MintRequest) => {
    mint(provider, message).then((tokens) => process.send!({ type: 'minted', tokens }),
      (error: unknown) => process.send!({ type: 'error', message: (error as Error).message }));
  });
}
