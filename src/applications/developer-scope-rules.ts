import type { AccountRecord, ApplicationType } from '../storage/contract.ts';
import { AppError } from '../shared/app-error.ts';
import type { ApplicationDeps } from './create-application.ts';
import { checkApplicationScope } from './application-rules.ts';

export type DeveloperScopeDeps = Pick<ApplicationDeps, 'catalog' | 'sensitiveScopes'>;

/** What a developer's application gets now (`scope`) and what waits for an administrator (`pendingScope`). */
export interface DeveloperScope {
  scope: string;
  pendingScope: string;
}

/** The scopes of a space-separated list ('' has none). */
export const scopeWords = (scope: string) => scope.split(/\s+/).filter(Boolean);

/** "a", "a or b", "a, b or c": the roles that would allow a permission, for the error. */
const eitherOf = (names: string[]) => (names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`);

/**
 * The permissions a developer asks for on /developers, checked as for any application and then
 * held to their own roles: an application acts with its developer's authority, so it may not reach
 * what they cannot (least privilege, PRODUCT.md "Permissions"). Sensitive permissions not yet in
 * `approved` wait for an administrator; without a list, a web or native app gets the OIDC scopes
 * and the developer's own non-sensitive permissions.
 */
export function checkDeveloperScope(
  deps: DeveloperScopeDeps,
  developer: Pick<AccountRecord, 'roles'>,
  type: ApplicationType,
  scopeInput: string | undefined,
  approved: ReadonlySet<string> = new Set(),
): DeveloperScope {
  const { catalog, sensitiveScopes } = deps;
  const ceiling = catalog.scopesForRoles(developer.roles);
  const isSensitive = (scope: string) => sensitiveScopes.includes(scope);
  const defaultScope = [...catalog.oidcScopes, ...catalog.apiScopes.filter((s) => ceiling.has(s) && !isSensitive(s))].join(' ');
  // A service has no default: checkApplicationScope asks it to name its permissions.
  const input = scopeInput?.trim() || (type === 'service' ? undefined : defaultScope);
  const requested = checkApplicationScope(catalog, type, input).split(' ').filter(Boolean);

  const beyond = requested.find((s) => catalog.apiScopes.includes(s) && !ceiling.has(s));
  if (beyond !== undefined) {
    const roles = eitherOf(catalog.rolesGranting(beyond));
    throw new AppError('scope_not_allowed', `your roles do not allow ${beyond}; it needs the ${roles} role`,
      { status: 403, params: { scope: beyond, roles } });
  }
  const isPending = (s: string) => isSensitive(s) && !approved.has(s);
  return {
    scope: requested.filter((s) => !isPending(s)).join(' '),
    pendingScope: requested.filter(isPending).join(' '),
  };
}
