import { ownerScopeCeiling } from '../permissions/obtainable-scopes.ts';
import type { AccountRecord, ApplicationRecord } from '../storage/contract.ts';
import type { Locale, PermissionCatalog } from '../permissions/catalog.ts';
import type { ApplicationsPage, ApplicationsQuery, ConsoleApplication } from '../applications/admin-applications.ts';
import { applicationKeyStatus, lastKeyUse } from '../applications/check-client-secret.ts';
import { scopeWords } from '../applications/developer-scope-rules.ts';
import { applicationView, formatDate } from './developer-view-models.ts';

/** What the console shows as an application's state: usable, switched off (reversible), or ended for good. */
const stateOf = (application: ApplicationRecord) => (application.revokedAt ? 'revoked' : application.disabledAt ? 'disabled' : 'enabled');

const rowView = (catalog: PermissionCatalog, { application, owner }: ConsoleApplication, locale: Locale, now: Date) => {
  const describe = (scope: string) => ({ scope, label: catalog.describeScope(scope, locale) });
  return {
    clientId: application.clientId,
    name: application.name,
    type: application.type,
    owner: owner?.email ?? null,
    permissions: scopeWords(application.scope).map(describe),
    pending: scopeWords(application.pendingScope).map(describe),
    keyStatus: applicationKeyStatus(application, now),
    lastUsed: formatDate(lastKeyUse(application), locale),
    state: stateOf(application),
  };
};

export function applicationsPageView(catalog: PermissionCatalog, page: ApplicationsPage, query: ApplicationsQuery, locale: Locale) {
  const now = new Date();
  const filters = { ...(query.q.trim() ? { q: query.q.trim() } : {}), ...(query.isPendingApproval ? { pending: '1' } : {}) };
  return {
    query: query.q.trim(),
    isPendingApproval: query.isPendingApproval,
    applications: page.rows.map((row) => rowView(catalog, row, locale, now)),
    nextHref: page.next ? `/admin/applications?${new URLSearchParams({ ...filters, after: page.next })}` : undefined,
  };
}

/**
 * An owned application's tokens carry at most what its owner's roles allow today (client-metadata.ts);
 * undefined: no owner, no limit. The page marks permissions beyond it, which the admin may set but no token carries.
 */
const ownerCeiling = (catalog: PermissionCatalog, owner: AccountRecord | undefined, application: ApplicationRecord) =>
  (application.ownerId === null ? undefined : ownerScopeCeiling(catalog, owner));

export function applicationDetailView(catalog: PermissionCatalog, { application, owner }: ConsoleApplication, locale: Locale) {
  const now = new Date();
  const ceiling = ownerCeiling(catalog, owner, application);
  const isBeyondOwner = (scope: string) => ceiling !== undefined && catalog.apiScopes.includes(scope) && !ceiling.has(scope);
  const held = new Set(scopeWords(application.scope));
  const offered = application.type === 'service' ? catalog.apiScopes : [...catalog.apiScopes, ...catalog.oidcScopes];
  return {
    app: applicationView(catalog, application, locale, now),
    owner: owner ? { id: owner.id, email: owner.email } : null,
    state: stateOf(application),
    disabledSince: formatDate(application.disabledAt, locale),
    revokedSince: formatDate(application.revokedAt, locale),
    keyStatus: applicationKeyStatus(application, now),
    lastUsed: formatDate(lastKeyUse(application), locale),
    beyondOwner: scopeWords(application.scope).filter(isBeyondOwner),
    choices: offered.map((scope) => ({ scope, label: catalog.describeScope(scope, locale), checked: held.has(scope),
      isBeyondOwner: isBeyondOwner(scope) })),
  };
}
