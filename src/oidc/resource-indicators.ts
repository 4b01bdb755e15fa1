import { errors, type Client, type Configuration, type KoaContextWithOIDC, type ResourceServer } from 'oidc-provider';
import type { Config } from '../config/schema.ts';
import type { PermissionCatalog } from '../permissions/catalog.ts';
import { obtainableApiScopes } from '../permissions/obtainable-scopes.ts';
import type { AccountLoader } from './find-account.ts';
import { asksForApiPermission, readRequestedScope, words } from './requested-scope.ts';
import { API_ACCESS_TOKEN_ALG } from './constants.ts';

type ResourceIndicators = NonNullable<NonNullable<Configuration['features']>['resourceIndicators']>;

export interface ResourceIndicatorDeps {
  catalog: PermissionCatalog;
  api: Config['api'];
  loadAccount: AccountLoader;
}

const isClientCredentials = (ctx: KoaContextWithOIDC) =>
  ctx.oidc.route === 'token' && ctx.oidc.params?.grant_type === 'client_credentials';

/**
 * The scope a service's client_credentials request is processed with. Without `scope`, every
 * permission its application is allowed: RFC 6749 §3.3 lets the server apply a pre-defined
 * default, and Auth0 does the same. Permissions outside the allow-list are left out and the
 * token response's `scope` says what was granted (§5.1); when none is left, invalid_scope names
 * them (§5.2), rather than an access token that can do nothing.
 */
export function clientCredentialsScope(requested: readonly string[], allowed: readonly string[]): string {
  if (!requested.length) return allowed.join(' ');
  const granted = requested.filter((scope) => allowed.includes(scope));
  if (!granted.length) {
    throw new errors.InvalidScope(
      `this application is not allowed ${requested.join(' ')}; it may ask for ${allowed.join(' ') || 'no permission'}`, requested.join(' '));
  }
  return granted.join(' ');
}

/**
 * RFC 8707 resource indicators with one resource server, the TokenIM API. The API is a token's
 * audience when the request names it or asks for one of its permissions; otherwise (an app asking
 * `openid profile email` only) the access token is the one OIDC Core §5.3 UserInfo accepts, which
 * oidc-provider issues only without an audience (lib/actions/userinfo.js validateAudience).
 */
export function createResourceIndicators({ catalog, api, loadAccount }: ResourceIndicatorDeps): ResourceIndicators {
  const resourceServerInfo = (scope: string): ResourceServer => ({
    scope,
    audience: api.audience,
    accessTokenFormat: 'jwt',
    accessTokenTTL: api.accessTokenTtlSeconds,
    // RFC 9068 JWT access tokens; UserInfo verifies them with the same alg (src/oidc/userinfo-access-token.ts).
    jwt: { sign: { alg: API_ACCESS_TOKEN_ALG } },
  });
  // A Client never changes (src/oidc/client-cache.ts makes a new one when its application does):
  // what follows from it alone is worked out once per Client, not on every token request. The
  // library only reads the info it gets back (lib/helpers/resource_server.js), so one frozen copy
  // serves every client_credentials request of a client, which involves no person and so no roles.
  const clientScopes = new WeakMap<Client, string[]>();
  const obtainable = (client: Client) => {
    let scopes = clientScopes.get(client);
    if (!scopes) clientScopes.set(client, scopes = obtainableApiScopes(catalog, client));
    return scopes;
  };
  const serviceInfo = new WeakMap<Client, Readonly<ResourceServer>>();
  const serviceInfoFor = (client: Client) => {
    let info = serviceInfo.get(client);
    if (!info) serviceInfo.set(client, info = Object.freeze(resourceServerInfo(obtainable(client).join(' '))));
    return info;
  };

  /**
   * Reads the request's scope where every authorization and client_credentials request passes
   * (lib/shared/check_resource.js: defaultResource when no resource is named, else
   * getResourceServerInfo): unknown permissions are refused here, and a service's request gets
   * the scope it is processed with (the library reads params.scope after these hooks).
   */
  const readScope = (ctx: KoaContextWithOIDC, client: Client): string[] => {
    const requested = readRequestedScope(catalog, ctx.oidc.params?.scope);
    if (isClientCredentials(ctx)) ctx.oidc.params!.scope = clientCredentialsScope(requested, obtainable(client));
    return requested;
  };

  return {
    enabled: true,
    defaultResource(ctx, client) {
      if (!client) return undefined;
      const requested = readScope(ctx, client);
      const wantsApi = isClientCredentials(ctx) || asksForApiPermission(catalog, requested);
      return wantsApi && obtainable(client).length ? api.audience : undefined;
    },
    /**
     * At the token endpoint the API granted at /auth stays the audience, unless the request's
     * `scope` asks for OIDC scopes only: a refresh with `scope=openid profile email` (RFC 6749 §6)
     * then gets an opaque UserInfo token (lib/helpers/resolve_resource.js), as RFC 8707 §2.2 lets
     * an app fetch a token for a second resource. Apps need not: the API token itself works at
     * UserInfo when `openid` was granted (src/oidc/userinfo-access-token.ts).
     */
    useGrantedResource(ctx) {
      const requested = words(ctx.oidc.params?.scope);
      return !requested.length || asksForApiPermission(catalog, requested);
    },
    /**
     * Least privilege: the permissions a token can carry are the client's allow-list and, when
     * a person is involved, those their roles allow (at /auth through the session, at the token
     * endpoint through the account of the code or refresh token, so a role removed is gone at
     * the next refresh). The library intersects this with what was requested and granted.
     */
    async getResourceServerInfo(ctx, resourceIndicator, client) {
      if (resourceIndicator !== api.audience) throw new errors.InvalidTarget('unknown resource');
      readScope(ctx, client);
      if (!obtainable(client).length) throw new errors.InvalidTarget('this client may not use the TokenIM API');
      if (isClientCredentials(ctx)) return serviceInfoFor(client);
      const accountId = ctx.oidc.entities.Account?.accountId ?? ctx.oidc.entities.Session?.accountId;
      // An account gone since: no role, so no permission.
      const roles = accountId ? (await loadAccount(ctx, accountId))?.roles ?? [] : undefined;
      return resourceServerInfo(obtainableApiScopes(catalog, client, roles).join(' '));
    },
  };
}
