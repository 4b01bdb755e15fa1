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
export function checkApplicationScope(catalog: PermissionCatalog, type: ApplicationType, scope: string | undefined,
  options: { isResourceServer?: boolean | undefined } = {}): string {
  if (scope === undefined || !scope.trim()) {
    // A resource server only checks tokens (introspection, GET /revocations): it needs no permission.
    if (options.isResourceServer) return '';
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

/** RFC 8252 §7.3: the loopback addresses, where plain http is acceptable. */
export const isLoopback = (url: URL) => ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);

/** Schemes a browser runs or reads locally instead of handing to an app (oidc-provider refuses them too). */
const FORBIDDEN_SCHEMES = new Set(['javascript:', 'vbscript:', 'data:', 'blob:', 'file:', 'about:']);

/** What is wrong with one redirect URI for an application of this type, or undefined. */
function redirectUriProblem(type: ApplicationType, url: URL, raw: string): string | undefined {
  // RFC 9700 §4.1.3: URIs are compared exactly; a `*` would be taken for a wildcard that never matches.
  if (raw.includes('*')) return 'must be exact: wildcards (*) are not supported';
  if (url.hash || raw.includes('#')) return 'must not contain a fragment (#)';
  if (FORBIDDEN_SCHEMES.has(url.protocol)) return `must not use the ${url.protocol.slice(0, -1)} scheme`;
  if (type === 'web') return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url)) ? undefined : 'must use https://';
  // RFC 8252 §7: a native app uses a private-use scheme, loopback http, or a claimed https URI.
  if (url.protocol === 'http:' && !isLoopback(url)) return 'must use a loopback address or a private-use scheme';
  if (url.protocol === 'https:' && isLoopback(url)) return 'must not be a loopback address over https';
  return undefined;
}

/**
 * RFC 9700 §2.1 and RFC 8252: exact, absolute URIs without fragments or wildcards; web apps use
 * https (http only on loopback, for development); native apps use loopback http, a private-use
 * scheme or a claimed https URI. `what` names the list in errors (redirect or post-logout).
 */
function checkUris(type: ApplicationType, uris: readonly string[], what: string): string[] {
  const unique = [...new Set(uris.map((u) => u.trim()).filter(Boolean))];
  if (type === 'service' && unique.length) throw new AppError('invalid_redirect_uri', `a service application has no ${what} URIs`);
  for (const raw of unique) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new AppError('invalid_redirect_uri', `"${raw}" is not an absolute URL`, { params: { uri: raw } });
    }
    const problem = redirectUriProblem(type, url, raw);
    if (problem) throw new AppError('invalid_redirect_uri', `"${raw}" ${problem}`, { params: { uri: raw } });
  }
  return unique;
}

export function checkRedirectUris(type: ApplicationType, uris: readonly string[]): string[] {
  const checked = checkUris(type, uris, 'redirect');
  if (type !== 'service' && !checked.length) {
    throw new AppError('redirect_uri_required', 'a web or native application needs at least one redirect URI');
  }
  return checked;
}

/**
 * RP-Initiated Logout 1.0 §3: where the app may ask to be sent back after a logout, registered
 * in advance and held to the same rules as redirect URIs; none is needed.
 */
export function checkPostLogoutRedirectUris(type: ApplicationType, uris: readonly string[]): string[] {
  return checkUris(type, uris, 'post-logout redirect');
}
