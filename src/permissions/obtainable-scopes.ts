import type { PermissionCatalog } from './catalog.ts';
import { API_SCOPES } from '../applications/client-metadata.ts';

/**
 * The TokenIM API permissions a client can obtain (PRODUCT.md "least privilege"): those on its
 * allow-list and, when a person is involved (`roles` given), only those their roles allow. The
 * provider issues tokens by it (getResourceServerInfo) and /account lists connected apps by it.
 */
export function obtainableApiScopes(catalog: PermissionCatalog, client: Record<string, unknown>, roles?: readonly string[]): string[] {
  const allowedByClient = new Set(Array.isArray(client[API_SCOPES]) ? (client[API_SCOPES] as unknown[]) : []);
  const allowedByRoles = roles && catalog.scopesForRoles(roles);
  return catalog.apiScopes.filter((scope) => allowedByClient.has(scope) && (!allowedByRoles || allowedByRoles.has(scope)));
}

/**
 * What an application's owner lets it reach today: their roles' permissions, nothing when they are
 * disabled or gone (an owned application's tokens carry at most this; client-metadata.ts).
 */
export function ownerScopeCeiling(catalog: PermissionCatalog, owner: { roles: readonly string[]; disabled: boolean } | undefined): Set<string> {
  return owner && !owner.disabled ? catalog.scopesForRoles(owner.roles) : new Set<string>();
}
