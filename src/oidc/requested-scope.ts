import { errors } from 'oidc-provider';
import type { PermissionCatalog } from '../permissions/catalog.ts';

/** A space-separated request parameter (scope, acr_values) as its words. */
export const words = (value: unknown): string[] => (typeof value === 'string' ? value.split(' ').filter(Boolean) : []);

/** The scope values OIDC Core defines (§5.4 and §11 offline_access, §3.1.2.1 openid). */
const STANDARD_OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'address', 'phone', 'offline_access']);

/**
 * The scope of a request as this server reads it. A standard OIDC scope it does not offer (`phone`,
 * `address`) is left out: OIDC Core §3.1.2.1 and §5.4 say such values SHOULD be ignored, and
 * off-the-shelf RP libraries ask for them. Any other value outside the catalog is refused with
 * invalid_scope (RFC 6749 §3.3, §5.2): an API permission that does not exist is a mistake to report.
 */
export function readRequestedScope(catalog: PermissionCatalog, scope: unknown): string[] {
  const requested = words(scope).filter((value) => catalog.isKnownScope(value) || !STANDARD_OIDC_SCOPES.has(value));
  const unknown = requested.find((value) => !catalog.isKnownScope(value));
  if (unknown) throw new errors.InvalidScope(`"${unknown}" is not a TokenIM permission`, unknown);
  return requested;
}

/** Whether a request asks for a permission of the TokenIM API (as opposed to OIDC scopes only). */
export const asksForApiPermission = (catalog: PermissionCatalog, scopes: readonly string[]): boolean =>
  scopes.some((value) => catalog.apiScopes.includes(value));
