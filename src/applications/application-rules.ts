import type { ApplicationType } from '../storage/contract.ts';
import type { PermissionCatalog } from '../permissions/catalog.ts';
import { AppError } from '../shared/app-error.ts';

export const APPLICATION_TYPES: readonly ApplicationType[] = ['service', 'web', 'native'];

export function parseApplicationType(raw: string): ApplicationType {
  if (!(APPLICATION_TYPES as readonly string[]).includes(raw)) {
    throw new AppError('invalid_application_type', `type must be one of ${APPLICATION_TYPES.join(', ')}`);
  }
  return raw as ApplicationType;
}

export function checkApplicationName(raw: string): string {
  const name = raw.trim();
  if (!name || name.length > 100) throw new AppError('invalid_application_name', 'give the application a name of 1 to 100 characters');
  return name;
}

/** Every scope must be in the catalog; service applications get API permissions only (no user). */
export function checkApplicationScope(catalog: PermissionCatalog, type: ApplicationType, scope: string | undefined): string {
  if (scope === undefined || !scope.trim()) {
    // A service acts for no user, so no role limits what it gets: it must name its permissions.
    if (type === 'service') {
      throw new AppError('scope_required', 'a service application needs --scope naming the permissions it may use');
    }
    return [...catalog.oidcScopes, ...catalog.apiScopes].join(' ');
  }
  const scopes = [...new Set(scope.trim().split(/\s+/))];
  const unknown = scopes.filter((s) => !catalog.isKnownScope(s));
  if (unknown.length) {
    throw new AppError('invalid_scope', `unknown scope ${unknown.join(', ')}; known scopes are ${[...catalog.oidcScopes, ...catalog.apiScopes].join(', ')}`);
  }
  if (type === 'service') {
    const oidc = scopes.filter((s) => !catalog.apiScopes.includes(s));
    if (oidc.length) throw new AppError('invalid_scope', `a service application has no user: ${oidc.join(', ')} cannot be granted to it`);
  }
  return scopes.join(' ');
}

const isLoopback = (url: URL) => ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);

/**
 * RFC 9700 §2.1 and RFC 8252: exact, absolute redirect URIs without fragments; web apps use https
 * (http only on loopback, for development); native apps use loopback http or a private-use scheme.
 */
export function checkRedirectUris(type: ApplicationType, uris: readonly string[]): string[] {
  const unique = [...new Set(uris.map((u) => u.trim()).filter(Boolean))];
  if (type === 'service') {
    if (unique.length) throw new AppError('invalid_redirect_uri', 'a service application has no redirect URIs');
    return [];
  }
  if (!unique.length) throw new AppError('redirect_uri_required', 'a web or native application needs at least one redirect URI');
  for (const raw of unique) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new AppError('invalid_redirect_uri', `"${raw}" is not an absolute URL`, { params: { uri: raw } });
    }
    const problem =
      url.hash ? 'must not contain a fragment (#)'
      : type === 'web' && url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url)) ? 'must use https://'
      : type === 'native' && url.protocol === 'https:' ? undefined
      : type === 'native' && url.protocol === 'http:' && !isLoopback(url) ? 'must use a loopback address or a private-use scheme'
      : undefined;
    if (problem) throw new AppError('invalid_redirect_uri', `"${raw}" ${problem}`, { params: { uri: raw } });
  }
  return unique;
}
