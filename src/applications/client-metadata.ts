import type { ApplicationRecord } from '../storage/contract.ts';
import { isSecretLive, secretEndsAt } from './check-client-secret.ts';
import { isApplicationUsable } from './find-live-application.ts';

// Extra client metadata (registered with the provider's extraClientMetadata.properties).
/** The key records (hash and dates, never a secret) that checkClientSecret decides on. */
export const CLIENT_SECRETS = 'urn:tokenim:secrets';
export const RESOURCE_SERVER = 'urn:tokenim:resource_server';
export const FIRST_PARTY = 'urn:tokenim:first_party';
/** The TokenIM API permissions the client may ask for (the provider's `scope` holds OIDC scopes only). */
export const API_SCOPES = 'urn:tokenim:api_scopes';
/** What the token endpoint's rate limit needs (src/applications/token-rate-limit.ts): type and own limit. */
export const RATE_LIMIT = 'urn:tokenim:token_rate_limit';

const GRANT_TYPES = {
  service: ['client_credentials'],
  web: ['authorization_code', 'refresh_token'],
  native: ['authorization_code', 'refresh_token'],
} as const;

/**
 * The oidc-provider client metadata of an application, or undefined when it is not usable
 * (revoked or disabled): the provider then does not know the client.
 * `client_secret` holds the newest hash only to mark the client confidential; presented secrets
 * are decided by checkClientSecret on every key record (src/oidc/client-auth.ts), ended ones
 * included, so that a refusal can say the key expired or was replaced.
 */
export function toClientMetadata(
  application: ApplicationRecord,
  oidcScopes: readonly string[],
  now = new Date(),
  ownerScopes?: ReadonlySet<string>,
): Record<string, unknown> | undefined {
  if (!isApplicationUsable(application)) return undefined;
  const scopes = application.scope.split(' ');
  const oidcScope = scopes.filter((s) => oidcScopes.includes(s)).join(' ');
  const isPublic = application.type === 'native';
  const current = application.secrets[0];
  const live = application.secrets.filter((s) => isSecretLive(s, now));
  // oidc-provider refuses every secret once client_secret_expires_at passes, before comparing
  // (checkClientSecretExpiration): it is the latest end among live keys (0: one never ends, or
  // none is live), so that it never passes while a key works and expiry is decided by
  // checkClientSecret alone. Rounded up: the provider compares whole seconds.
  const ends = live.map(secretEndsAt);
  const expiresAt = ends.length && !ends.includes(null) ? Math.ceil(Math.max(...ends.map((d) => d!.getTime())) / 1000) : 0;
  return {
    client_id: application.clientId,
    client_name: application.name,
    application_type: isPublic ? 'native' : 'web',
    grant_types: [...GRANT_TYPES[application.type]],
    response_types: application.type === 'service' ? [] : ['code'],
    redirect_uris: application.redirectUris,
    post_logout_redirect_uris: application.postLogoutRedirectUris,
    // Omitted for service clients: they have no user, so no OIDC scope applies.
    ...(oidcScope ? { scope: oidcScope } : {}),
    // An owned application reaches at most what its owner's roles allow today (PRODUCT.md: a developer
    // can never give an application more), so a role taken away, or the account disabled, shrinks it.
    [API_SCOPES]: scopes.filter((s) => !oidcScopes.includes(s) && (!ownerScopes || ownerScopes.has(s))),
    token_endpoint_auth_method: isPublic ? 'none' : 'client_secret_basic',
    ...(isPublic || !current
      ? {}
      : {
          client_secret: current.hash,
          client_secret_expires_at: expiresAt,
          [CLIENT_SECRETS]: application.secrets.map((s) => ({
            id: s.id, hash: s.hash, createdAt: s.createdAt.toISOString(), expiresAt: s.expiresAt?.toISOString() ?? null,
            replacedAt: s.replacedAt?.toISOString() ?? null, graceEndsAt: s.graceEndsAt?.toISOString() ?? null,
            revokedAt: s.revokedAt?.toISOString() ?? null,
          })),
        }),
    [RESOURCE_SERVER]: application.isResourceServer,
    [FIRST_PARTY]: application.isFirstParty,
    [RATE_LIMIT]: { type: application.type, perMinute: application.tokenRateLimitPerMinute },
  };
}
