import type { AccountRecord } from '../storage/contract.ts';
import type { PermissionCatalog } from '../permissions/catalog.ts';
import { AppError } from '../shared/app-error.ts';
import type { AccountDeps } from './create-account.ts';

/** Someone who can use every action of the admin console: enabled, with a role that opens it for writing. */
export const isActiveAdmin = (catalog: PermissionCatalog, account: Pick<AccountRecord, 'roles' | 'disabled'>): boolean =>
  !account.disabled && catalog.consoleAccess(account.roles) === 'write';

/**
 * The one place that decides whether a change to an account may leave the system without an
 * active administrator (nobody could then manage users, roles or applications but the CLI).
 * Changing roles and disabling both ask it, from the console and the CLI alike. A change that
 * keeps `account` an active admin, or touches someone who is not one, always passes; otherwise
 * another active admin must exist. It reads, then the caller writes: two admins demoting each
 * other at the same instant could both pass. That race needs two admins acting together against
 * each other and is repaired with `tokenim-auth users set-roles`; a store-level conditional write
 * is not worth it here.
 */
export async function checkKeepsAnActiveAdmin(
  deps: Pick<AccountDeps, 'accounts' | 'catalog'>,
  account: AccountRecord,
  after: Pick<AccountRecord, 'roles' | 'disabled'>,
): Promise<void> {
  if (!isActiveAdmin(deps.catalog, account) || isActiveAdmin(deps.catalog, after)) return;
  const adminRoles = deps.catalog.roleNames.filter((role) => deps.catalog.consoleAccess([role]) === 'write');
  if (!(await deps.accounts.findActiveAccountWithRole(adminRoles, account.id))) {
    throw new AppError('last_admin', 'this is the last active administrator: make another account an administrator first',
      { status: 409 });
  }
}
