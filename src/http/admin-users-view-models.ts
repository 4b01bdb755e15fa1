import type { AccountRecord } from '../storage/contract.ts';
import type { Locale, PermissionCatalog } from '../permissions/catalog.ts';
import type { UserDetails, UsersPage } from '../accounts/admin-users.ts';
import { formatDate } from './developer-view-models.ts';

/** The cursor in `?after=`: the last email of the page, base64url so that it reads as a token, not an address. */
export const encodeCursor = (email: string): string => Buffer.from(email, 'utf8').toString('base64url');
export const decodeCursor = (cursor: string | undefined): string | undefined =>
  (cursor ? Buffer.from(cursor, 'base64url').toString('utf8') : undefined);

/** A role in words: its label, what the admin console opens to it, and the permissions it brings. */
export function roleView(catalog: PermissionCatalog, role: string, locale: Locale) {
  return {
    role,
    label: catalog.describeRole(role, locale),
    console: catalog.consoleAccess([role]),
    permissions: [...catalog.scopesForRoles([role])].map((scope) => ({ scope, label: catalog.describeScope(scope, locale) })),
  };
}

const rowView = (catalog: PermissionCatalog, account: AccountRecord, locale: Locale, twoFactor: boolean) => ({
  id: account.id, email: account.email, name: account.name,
  roles: account.roles.map((role) => catalog.describeRole(role, locale)),
  twoFactor, disabled: account.disabled, emailVerified: account.emailVerified,
});

export function usersPageView(catalog: PermissionCatalog, page: UsersPage, query: string, locale: Locale) {
  return {
    query,
    users: page.accounts.map((account) => rowView(catalog, account, locale, page.twoFactor.get(account.id) ?? false)),
    nextHref: page.next
      ? `/admin/users?${new URLSearchParams({ ...(query ? { q: query } : {}), after: encodeCursor(page.next) })}`
      : undefined,
  };
}

export function userView(catalog: PermissionCatalog, details: UserDetails, locale: Locale) {
  const { account } = details;
  return {
    user: { ...rowView(catalog, account, locale, details.twoFactor.enabled), created: formatDate(account.createdAt, locale),
      recoveryCodesLeft: details.twoFactor.recoveryCodesLeft },
    roles: account.roles.map((role) => roleView(catalog, role, locale)),
    roleChoices: catalog.roleNames.map((role) => ({ ...roleView(catalog, role, locale), checked: account.roles.includes(role) })),
    sessions: details.sessions.map((at) => formatDate(at ?? null, locale)),
    apps: details.connectedApps.map((app) => ({
      clientId: app.clientId, name: app.name, since: formatDate(app.since, locale),
      permissions: app.scopes.map((scope) => catalog.describeScope(scope, locale)),
    })),
  };
}
