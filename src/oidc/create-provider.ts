import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../config/schema.ts';
import type { PermissionCatalog } from '../permissions/catalog.ts';
import type { AccountStore, ApplicationStore } from '../storage/contract.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { recordRevokedGrants } from '../audit/grant-revocations.ts';
import type { SigningJwk } from '../keys/key-timeline.ts';
import type { Renderer } from '../http/render.ts';
import { tokenRateLimit } from '../http/koa-token-rate-limit.ts';
import type { ClientRateLimit, TokenRateDeps } from '../applications/token-rate-limit.ts';
import { API_SCOPES, FIRST_PARTY, RESOURCE_SERVER, CLIENT_SECRETS, RATE_LIMIT } from '../applications/client-metadata.ts';
import { createAdapterFactory, type AdapterStores } from './adapter.ts';
import type { SecretHashKey } from '../applications/client-secret.ts';
import { createAccountLoader, createFindAccount } from './find-account.ts';
import { CLIENT_AUTH_ROUTES, installClientSecretCheck } from './client-auth.ts';
import { aroundProviderRoutes, type AnswerRewrite } from './around-provider-routes.ts';
import type { SecretUseTracker } from '../applications/secret-use-tracker.ts';
import { renderProviderError } from './render-provider-error.ts';
import { renderLogoutWithoutSession } from './logout-without-session.ts';
import { loadExistingGrant } from './load-existing-grant.ts';
import { createResourceIndicators } from './resource-indicators.ts';
import { words } from './requested-scope.ts';
import { allowOwnTokensOnly, answerUnregisteredGrantType } from './unauthorized-client.ts';
import { createInteractionPolicy, type SignInCheck } from './interaction-policy.ts';
import type { SignInPolicyDeps } from '../mfa/second-factor.ts';
import { isSignInComplete } from '../accounts/sign-in-state.ts';
import type { RevocationPublisher } from '../revocation/revocation-events.ts';
import { providerCookieNames } from '../shared/cookie-names.ts';
import { ACCOUNT_CLIENT_ID, ACR_MFA, ACR_PASSWORD, accountCallbackUrl } from './constants.ts';

/** The claims userinfo-access-token.ts reads: set only when the authorization asked for `openid`. */
function userinfoClaims(oidcScopes: readonly string[], scope: string | undefined, expiresWithSession: boolean | undefined) {
  const asked = new Set((scope ?? '').split(' '));
  if (!asked.has('openid')) return {};
  return { userinfo_scope: oidcScopes.filter((s) => asked.has(s)).join(' '), ...(expiresWithSession ? { session_bound: true } : {}) };
}

export interface ProviderDeps {
  config: Config;
  catalog: PermissionCatalog;
  /** The JWKS at start, signing keys first; later ones arrive by replaceSigningKeys (src/oidc/provider-signing-keys.ts). */
  signingKeys: SigningJwk[];
  cookieKeys: string[];
  /** Where each model is stored (src/oidc/adapter.ts); shared with the account pages. */
  adapterStores: AdapterStores;
  accounts: AccountStore;
  /** Client secret checks ask it about revoked applications (src/oidc/client-auth.ts). */
  applications: ApplicationStore;
  audit: AuditLog;
  secretHashKey: SecretHashKey;
  /** Notes each accepted client secret; absent when last-use tracking is off (clients.trackLastUse). */
  secretUse?: SecretUseTracker;
  renderer: Renderer;
  secondFactor: SignInPolicyDeps;
  revocations: RevocationPublisher;
  /** The token endpoint's per-application rate limits (src/http/koa-token-rate-limit.ts). */
  tokenRate: Omit<TokenRateDeps, 'findLimit'>;
}

/**
 * A session is saved again on every use, each time for the idle lifetime, but never past its
 * absolute end (sign-in + sessionAbsoluteSeconds, ASVS 5 7.3.2): the store then expires it and the
 * next request signs in afresh. Sync, as oidc-provider requires of TTL functions.
 */
export function sessionTtl(ttl: Config['ttl'], loginTs: number | undefined, now = Math.floor(Date.now() / 1000)): number {
  if (loginTs === undefined) return ttl.sessionSeconds;
  return Math.max(1, Math.min(ttl.sessionSeconds, loginTs + ttl.sessionAbsoluteSeconds - now));
}

export function createProvider(deps: ProviderDeps): Provider {
  const { config, catalog, renderer } = deps;
  const ttl = config.ttl;
  const loadAccount = createAccountLoader(deps.accounts);
  // isSignInComplete for a provider request: the mfa prompt, the first-party grant and the token
  // endpoint all ask it, with what the app requested.
  const signInSatisfies: SignInCheck = async (ctx, accountId, amr) => {
    const account = await loadAccount(ctx, accountId);
    // A vanished account: the login prompt ends the flow (findAccount finds nobody).
    if (!account) return true;
    return isSignInComplete(deps.secondFactor, account, amr,
      { acrValues: words(ctx.oidc.params?.acr_values), scopes: words(ctx.oidc.params?.scope) });
  };

  const configuration: Configuration = {
    adapter: createAdapterFactory(deps.adapterStores),
    clients: [{
      client_id: ACCOUNT_CLIENT_ID,
      client_name: 'TokenIM Account',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [accountCallbackUrl(config.issuer)],
      scope: 'openid',
      [FIRST_PARTY]: true,
      [API_SCOPES]: [],
    }],
    loadExistingGrant: (ctx) => loadExistingGrant(ctx, signInSatisfies, deps.adapterStores),
    findAccount: createFindAccount(loadAccount, signInSatisfies),
    jwks: { keys: deps.signingKeys as NonNullable<Configuration['jwks']>['keys'] },
    // Same keys as the Koa app's (src/app.ts): the interaction cookies are set through the host app.
    cookies: {
      keys: deps.cookieKeys,
      names: providerCookieNames(new URL(config.issuer).protocol === 'https:'),
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    scopes: catalog.oidcScopes,
    claims: {
      openid: ['sub', 'acr', 'amr', 'auth_time'],
      profile: ['name'],
      email: ['email', 'email_verified'],
    },
    // The ID token carries the claims of the granted scopes whichever access token the app got, as
    // Keycloak and Auth0 do and RP libraries that read the ID token expect (OIDC Core §2: an ID
    // token MAY carry other claims); UserInfo (§5.3) answers them as well. With the default (true)
    // they would be there only when the access token is one UserInfo refuses (an API token).
    conformIdTokenClaims: false,
    acrValues: [ACR_PASSWORD, ACR_MFA],
    responseTypes: ['code'],
    // RFC 9700 §2.1.1: PKCE for every client, confidential ones included; only S256 exists in v9.
    pkce: { required: () => true },
    // No client_secret_jwt and no HS* algorithms: stored secrets are hashes, unusable as HMAC keys.
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    enabledJWA: {
      clientAuthSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      requestObjectSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    },
    extraClientMetadata: { properties: [CLIENT_SECRETS, RESOURCE_SERVER, FIRST_PARTY, API_SCOPES, RATE_LIMIT] },
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
      policy: createInteractionPolicy(signInSatisfies),
    },
    rotateRefreshToken: true,
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? config.api.accessTokenTtlSeconds,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? config.api.accessTokenTtlSeconds,
      AuthorizationCode: ttl.authorizationCodeSeconds,
      IdToken: ttl.idTokenSeconds,
      Interaction: ttl.interactionSeconds,
      Session: (_ctx, session) => sessionTtl(ttl, session.loginTs),
      RefreshToken: ttl.refreshTokenSeconds,
      // An absolute cap on the refresh token chain: every refresh checks the grant's expiry.
      Grant: ttl.grantSeconds,
      PushedAuthorizationRequest: 60,
      BackchannelAuthenticationRequest: 600,
      DeviceCode: 600,
    },
    async extraTokenClaims(ctx, token) {
      // iat has second precision; revocations are exact (src/resource-server/revocation-listener.ts).
      const issuedAt = { issued_at_ms: Date.now() };
      if (token.kind !== 'AccessToken' || !('accountId' in token) || typeof token.accountId !== 'string') return issuedAt;
      const account = await loadAccount(ctx, token.accountId);
      // The access token model keeps no acr/amr: they come from the code or refresh token it was issued for.
      const source = ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.RefreshToken;
      return {
        ...issuedAt,
        roles: account?.roles ?? [],
        // Lets resource servers drop this grant's tokens at once when it is revoked, and this browser
        // session's tokens when it signs out of the app (src/http/koa-sign-out-revocations.ts).
        ...(token.grantId ? { grant_id: token.grantId } : {}),
        ...(token.sessionUid ? { session_uid: token.sessionUid } : {}),
        ...(source?.acr ? { acr: source.acr } : {}),
        ...(source?.amr ? { amr: source.amr } : {}),
        // What this token may read at UserInfo (src/oidc/userinfo-access-token.ts): the OIDC scopes
        // of the authorization it came from, and whether it ends with the browser session, as the
        // stored token from the same code would (OIDC Core §5.3: claims of the scopes asked for).
        ...userinfoClaims(catalog.oidcScopes, source?.scope, token.expiresWithSession),
      };
    },
    clientBasedCORS(_ctx, origin, client) {
      // Browser apps may call the token endpoint from the origins of their own redirect URIs.
      return (client.redirectUris ?? []).some((uri) => new URL(uri).origin === origin);
    },
    renderError: (ctx, out, error) => renderProviderError(renderer, ctx, out, error),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // RFC 7662 §4: only resource servers may introspect; other clients get {active:false}.
        // RFC 7662 §2.2: a token of an application that no longer exists, is revoked or disabled is
        // not active. The provider then does not know its client (Client.find, served from the
        // client cache) and, asked on, would fail reading it (a 500), so the answer is {active:false}.
        allowedPolicy: async (ctx, client, token) =>
          client[RESOURCE_SERVER] === true && token.clientId !== undefined
          && (await ctx.oidc.provider.Client.find(token.clientId)) !== undefined,
      },
      revocation: { enabled: true, allowedPolicy: allowOwnTokensOnly },
      userinfo: { enabled: true },
      registration: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          // ui_locales may come in a POST body (RP-Initiated Logout §2), not only in the query.
          const locale = renderer.localeOf(ctx, ctx.oidc.params?.ui_locales as string | undefined);
          ctx.type = 'html';
          ctx.body = renderer.html(locale, 'logout', { form });
        },
        async postLogoutSuccessSource(ctx) {
          const locale = renderer.localeOf(ctx);
          ctx.type = 'html';
          ctx.body = renderer.html(locale, 'logged-out');
        },
      },
      resourceIndicators: createResourceIndicators({ catalog, api: config.api, loadAccount }),
    },
  };

  const provider = new Provider(config.issuer, configuration);
  provider.proxy = config.trustProxy;
  // Ours around the provider's routes, in one layer: the token endpoint's rate limit before them (a
  // throttled client is refused before its credentials are checked; its limit comes with the client
  // the provider holds in memory, src/oidc/client-cache.ts), and after them the rewrites of their answers.
  const describeRefusedSecret = installClientSecretCheck(provider, deps);
  const rateLimit = tokenRateLimit({ ...deps.tokenRate,
    findLimit: async (clientId) => (await provider.Client.find(clientId))?.[RATE_LIMIT] as ClientRateLimit | undefined },
  provider.pathFor('token', { mountPath: '' }));
  const rewrites: Record<string, AnswerRewrite[]> = Object.fromEntries(CLIENT_AUTH_ROUTES.map((route) => [route, [describeRefusedSecret]]));
  rewrites.token!.push(answerUnregisteredGrantType);
  // RP-Initiated Logout with no one signed in: our page, not the library's English one.
  rewrites.end_session = [renderLogoutWithoutSession(renderer)];
  provider.use(aroundProviderRoutes([rateLimit], rewrites));
  // The library's own grant revocations (token revocation, refresh token reuse) reach resource servers too.
  provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
    const { client, entities } = ctx.oidc;
    // The client revoked its refresh token (RFC 7009), or presented one already used (RFC 9700 §4.14.2).
    const token = (entities.RefreshToken ?? entities.AccessToken) as { accountId?: string; scope?: string } | undefined;
    const reason = ctx.oidc.route === 'revocation' ? 'token_revoked_by_client' : 'refresh_token_reused';
    Promise.all([
      deps.revocations.revoke('grant', grantId),
      recordRevokedGrants(deps.audit, { kind: 'client', id: client?.clientId ?? null }, [{ grantId, accountId: token?.accountId ?? null,
        clientId: client?.clientId ?? null, permissions: token?.scope?.split(' ').filter(Boolean) ?? [] }], { reason }),
    ]).catch((error: unknown) => provider.emit('server_error', undefined, error));
  });
  return provider;
}
