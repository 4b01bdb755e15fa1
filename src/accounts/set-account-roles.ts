import type { AuditEvent } from '../audit/audit-log.ts';
import type { PermissionCatalog } from '../permissions/catalog.ts';
import { AppError } from '../shared/app-error.ts';
import type { AccountDeps } from './create-account.ts';
import { normalizeEmail } from './account-rules.ts';

export function checkRoles(catalog: PermissionCatalog, roles: readonly string[]): void {
  const unknown = roles.filter((role) => !catalog.isKnownRole(role));
  if (unknown.length) {
    throw new AppError('unknown_role', `unknown role ${unknown.join(', ')}; roles are ${catalog.roleNames.join(', ')}`, {
      params: { roles: unknown.join(', '), known: catalog.roleNames.join(', ') },
    });
  }
}

export async function setAccountRoles(deps: AccountDeps, emailInput: string, rolesInput: string[], actor: AuditEvent['actor']) {
  const roles = [...new Set(rolesInput)];
  if (!roles.length) throw new AppError('roles_required', 'name at least one role');
  checkRoles(deps.catalog, roles);
  const account = await deps.accounts.findAccountByEmail(normalizeEmail(emailInput));
  if (!account) throw new AppError('account_not_found', 'no account has this email address', { status: 404 });
  await deps.accounts.updateAccountRolesById(account.id, roles, new Date());
  // Permissions taken away stop at once: resource servers drop the person's current tokens, and
  // the apps' next refresh gets tokens without them (src/oidc/create-provider.ts getResourceServerInfo).
  const lost = [...deps.catalog.scopesForRoles(account.roles)].filter((scope) => !deps.catalog.scopesForRoles(roles).has(scope));
  if (lost.length) await deps.revocations.revoke('subject', account.id);
  await deps.audit.record({
    type: 'account.roles_changed', actor, subject: account.id, details: { from: account.roles, to: roles },
  });
  return { ...account, roles };
}
