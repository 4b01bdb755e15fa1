import type { AccountRecord } from '../storage/contract.ts';
import type { AuditEvent } from '../audit/audit-log.ts';
import type { PermissionCatalog } from '../permissions/catalog.ts';
import { AppError } from '../shared/app-error.ts';
import type { AccountDeps } from './create-account.ts';
import { normalizeEmail } from './account-rules.ts';
import { checkKeepsAnActiveAdmin } from './console-admins.ts';

export function checkRoles(catalog: PermissionCatalog, roles: readonly string[]): void {
  const unknown = roles.filter((role) => !catalog.isKnownRole(role));
  if (unknown.length) {
    throw new AppError('unknown_role', `unknown role ${unknown.join(', ')}; roles are ${catalog.roleNames.join(', ')}`, {
      params: { roles: unknown.join(', '), known: catalog.roleNames.join(', ') },
    });
  }
}

/** `users set-roles`: the account named by its email (changeAccountRoles does the rest). */
export async function setAccountRoles(deps: AccountDeps, emailInput: string, rolesInput: string[], actor: AuditEvent['actor']) {
  const account = await deps.accounts.findAccountByEmail(normalizeEmail(emailInput));
  if (!account) throw new AppError('account_not_found', 'no account has this email address', { status: 404 });
  return changeAccountRoles(deps, account, rolesInput, actor);
}

/**
 * Replaces an account's roles (the CLI and the admin console). Refused when it would leave no
 * active administrator (console-admins.ts). The ledger's role.changed names the roles added and
 * removed, by whom, and the permissions gained and lost, so "who got calls:read when" is a
 * permission query.
 */
export async function changeAccountRoles(deps: AccountDeps, account: AccountRecord, rolesInput: string[], actor: AuditEvent['actor']) {
  const roles = [...new Set(rolesInput)];
  if (!roles.length) throw new AppError('roles_required', 'name at least one role');
  checkRoles(deps.catalog, roles);
  await checkKeepsAnActiveAdmin(deps, account, { roles, disabled: account.disabled });
  await deps.accounts.updateAccountRolesById(account.id, roles, new Date());
  const before = deps.catalog.scopesForRoles(account.roles);
  const after = deps.catalog.scopesForRoles(roles);
  const lost = [...before].filter((scope) => !after.has(scope));
  const gained = [...after].filter((scope) => !before.has(scope));
  // Permissions taken away stop at once: resource servers drop the person's current tokens, and
  // the apps' next refresh gets tokens without them (src/oidc/create-provider.ts getResourceServerInfo).
  if (lost.length) await deps.revocations.revoke('subject', account.id);
  await deps.audit.record({
    type: 'role.changed', actor, subject: account.id, permissions: [...gained, ...lost],
    details: { from: account.roles, to: roles, added: roles.filter((role) => !account.roles.includes(role)),
      removed: account.roles.filter((role) => !roles.includes(role)), permissionsGained: gained, permissionsLost: lost },
  });
  return { ...account, roles };
}
