import type { AccountRecord, ApplicationRecord, ApplicationType } from '../storage/contract.ts';
import type { Locale, PermissionCatalog } from '../permissions/catalog.ts';
import { secretEndsAt, secretStatus } from '../applications/check-client-secret.ts';
import { scopeWords } from '../applications/developer-scope-rules.ts';

/** Dates on the developer pages: the person's language, in UTC so that every reader sees the same moment. */
export const formatDate = (date: Date | null, locale: Locale): string | null =>
  date && `${date.toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' })} UTC`;

/** One permission checkbox of the new-application form. */
export interface PermissionChoice {
  scope: string;
  label: string;
  /** OIDC scopes: only a web or native application (a user signs in) can use them. */
  isOidc: boolean;
  isSensitive: boolean;
  /** Beyond the developer's roles: shown, not offered (the domain refuses it anyway). */
  isAllowed: boolean;
}

export function permissionChoices(catalog: PermissionCatalog, sensitiveScopes: readonly string[],
  developer: Pick<AccountRecord, 'roles'>, locale: Locale): PermissionChoice[] {
  const ceiling = catalog.scopesForRoles(developer.roles);
  return [
    ...catalog.apiScopes.map((scope) => ({ scope, label: catalog.describeScope(scope, locale), isOidc: false,
      isSensitive: sensitiveScopes.includes(scope), isAllowed: ceiling.has(scope) })),
    ...catalog.oidcScopes.map((scope) => ({ scope, label: catalog.describeScope(scope, locale), isOidc: true,
      isSensitive: false, isAllowed: true })),
  ];
}

export function applicationView(catalog: PermissionCatalog, application: ApplicationRecord, locale: Locale, now: Date) {
  const describe = (scope: string) => ({ scope, label: catalog.describeScope(scope, locale) });
  const secrets = application.secrets.map((secret) => {
    const status = secretStatus(application, secret, now);
    return {
      id: secret.id, hint: secret.hint, status,
      created: formatDate(secret.createdAt, locale), expires: formatDate(secret.expiresAt, locale),
      endsAt: formatDate(secretEndsAt(secret), locale), lastUsed: formatDate(secret.lastUsedAt, locale),
      canRevoke: status === 'in_grace',
    };
  });
  return {
    clientId: application.clientId, name: application.name, type: application.type as ApplicationType,
    permissions: scopeWords(application.scope).map(describe),
    pending: scopeWords(application.pendingScope).map(describe),
    refused: scopeWords(application.refusedScope).map(describe),
    isDisabled: application.disabledAt !== null,
    redirectUris: application.redirectUris,
    postLogoutRedirectUris: application.postLogoutRedirectUris,
    created: formatDate(application.createdAt, locale),
    secrets,
    // Issue 10 item 5: warn about keys that end within 14 days (secretStatus 'expiring').
    expiringSoon: secrets.filter((s) => s.status === 'expiring'),
  };
}

/** How to use the application: RFC 6749 §4.4 for a service, the code flow with PKCE (RFC 7636) otherwise. */
export function usageExamples(issuer: string, catalog: PermissionCatalog, application: ApplicationRecord) {
  const tokenEndpoint = `${issuer}/token`;
  const discovery = `${issuer}/.well-known/openid-configuration`;
  const apiScopes = scopeWords(application.scope).filter((s) => !catalog.oidcScopes.includes(s));
  const curl = application.type === 'service'
    ? `curl -u '${application.clientId}:YOUR_API_KEY' -d grant_type=client_credentials -d 'scope=${apiScopes.join(' ')}' ${tokenEndpoint}`
    : null;
  const authorizeUrl = application.type === 'service' ? null : `${issuer}/auth?${new URLSearchParams({
    client_id: application.clientId, response_type: 'code', scope: scopeWords(application.scope).join(' '),
    redirect_uri: application.redirectUris[0] ?? '', code_challenge: 'BASE64URL_SHA256_OF_VERIFIER', code_challenge_method: 'S256',
    state: 'RANDOM_STATE' })}`;
  return { tokenEndpoint, discovery, curl, authorizeUrl };
}
