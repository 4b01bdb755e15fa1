import type { ApplicationRecord } from '../storage/contract.ts';
import { isSecretLive } from './client-secret.ts';
import { epochSeconds } from './create-application.ts';

// Extra client metadata (registered with the provider's extraClientMetadata.properties).
export const SECRET_HASHES = 'urn:tokenim:secret_hashes';
export const RESOURCE_SERVER = 'urn:tokenim:resource_server';
export const FIRST_PARTY = 'urn:tokenim:first_party';
/** The TokenIM API permissions the client may ask for (the provider's `scope` holds OIDC scopes only). */
export const API_SCOPES = 'urn:tokenim:api_scopes';

const GRANT_TYPES = {
  service: ['client_credentials'],
  web: ['authorization_code', 'refresh_token'],
  native: ['authorization_code', 'refresh_token'],
} as const;

/**
 * The oidc-provider client metadata of an application, or undefined when it is revoked.
 * `client_secret` holds the newest hash only to mark the client confidential; secrets are
 * checked against every live hash by the provider's compareClientSecret (src/oidc/client-auth.ts).
 */
export function toClientMetadata(
  application: ApplicationRecord,
  oidcScopes: readonly string[],
  now = new Date(),
): Record<string, unknown> | undefined {
  if (application.revokedAt) return undefined;
  const scopes = application.scope.split(' ');
  const oidcScope = scopes.filter((s) => oidcScopes.includes(s)).join(' ');
  const isPublic = application.type === 'native';
  const current = application.secrets[0];
  const live = application.secrets.filter((s) => isSecretLive(s, now));
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
    [API_SCOPES]: scopes.filter((s) => !oidcScopes.includes(s)),
    token_endpoint_auth_method: isPublic ? 'none' : 'client_secret_basic',
    ...(isPublic || !current
      ? {}
      : {
          client_secret: current.hash,
          client_secret_expires_at: epochSeconds(current.expiresAt),
          [SECRET_HASHES]: live.map((s) => s.hash),
        }),
    [RESOURCE_SERVER]: application.isResourceServer,
    [FIRST_PARTY]: application.isFirstParty,
  };
}
