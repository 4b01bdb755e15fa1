import type { AccountRecord, AccountStore, ApplicationStore, AuthorizationFilter, AuthorizationRecord,
  AuthorizationStore } from '../storage/contract.ts';
import type { PermissionCatalog } from '../permissions/catalog.ts';
import type { AccountSessions } from '../oidc/account-sessions.ts';
import { accountActor, type AuditLog } from '../audit/audit-log.ts';
import { recordRevokedGrants } from '../audit/grant-revocations.ts';
import { AppError } from '../shared/app-error.ts';
import { obtainableScopes, type FindClient } from './connected-apps.ts';
import { findAccountByTypedEmail, findAccountsByIds } from './account-rules.ts';
import { CONSOLE_PAGE_READ, consolePage } from '../shared/console-page.ts';

// The Authorizations page of the admin console (issue 11 item 1): every grant, person × application
// × permissions × since × last used, filtered by permission, person or application, and revoked
// one at a time or all of a filter's results at once.

export interface AuthorizationDeps {
  authorizations: AuthorizationStore;
  accounts: AccountStore;
  applications: ApplicationStore;
  catalog: PermissionCatalog;
  sessions: Pick<AccountSessions, 'revokeGrant'>;
  audit: AuditLog;
  /** The application as the provider sees it today (its allow-list; undefined when gone or disabled). */
  findClient: FindClient;
}

/** What the page asks: a permission, a person (email), an application (client id), a page cursor. */
export interface AuthorizationQuery {
  permission?: string | undefined;
  person?: string | undefined;
  client?: string | undefined;
  after?: string | undefined;
}

const REVOKE_BATCH = 50;

export interface AuthorizationView {
  grantId: string;
  person: { id: string; email: string | undefined };
  application: { clientId: string; name: string };
  /** What the grant holds; `obtainable` false: the person could not get it today (roles or the app's allow-list changed). */
  permissions: { scope: string; obtainable: boolean }[];
  since: Date;
  lastUsed: Date | null;
}

export const hasFilter = (query: AuthorizationQuery) => Boolean(query.permission || query.person || query.client);

// The cursor is the last row shown: its creation time (ms) and grant id.
const encodeCursor = (record: AuthorizationRecord) => `${record.createdAt.getTime()}.${record.grantId}`;
function decodeCursor(cursor: string | undefined): AuthorizationFilter['after'] {
  const match = cursor ? /^(\d{1,15})\.(.{1,200})$/.exec(cursor) : null;
  return match ? { createdAt: new Date(Number(match[1])), grantId: match[2]! } : undefined;
}

/** The store filter, or undefined when the person named has no account (then nothing matches). */
async function toFilter(deps: AuthorizationDeps, query: AuthorizationQuery): Promise<Omit<AuthorizationFilter, 'after'> | undefined> {
  const person = query.person ? await findAccountByTypedEmail(deps.accounts, query.person) : undefined;
  if (query.person && !person) return undefined;
  return {
    ...(query.permission ? { permission: query.permission } : {}),
    ...(person ? { accountId: person.id } : {}),
    ...(query.client ? { clientId: query.client.trim() } : {}),
  };
}

/** One page, newest first, each row with the person, the application and what the person could obtain today. */
export async function listAuthorizations(deps: AuthorizationDeps, query: AuthorizationQuery) {
  const filter = await toFilter(deps, query);
  if (!filter) return { rows: [], next: undefined, total: 0 };
  const page = await deps.authorizations.listAuthorizations({ ...filter, after: decodeCursor(query.after) }, CONSOLE_PAGE_READ);
  const { shown, next } = consolePage(page, encodeCursor);
  // A page names at most CONSOLE_PAGE_SIZE people and applications: each is read once.
  const people = await findAccountsByIds(deps.accounts, shown.map((record) => record.accountId));
  const clients = new Map<string, Promise<[Awaited<ReturnType<FindClient>>, string | undefined]>>();
  const clientOf = (id: string) => clients.get(id) ?? clients.set(id, Promise.all([deps.findClient(id),
    deps.applications.findApplicationByClientId(id).then((application) => application?.name)])).get(id)!;
  const rows = await Promise.all(shown.map(async (record): Promise<AuthorizationView> => {
    const person = people.get(record.accountId);
    const [client, name] = await clientOf(record.clientId);
    const obtainable = person && !person.disabled ? obtainableScopes(deps.catalog, client, person.roles) : new Set<string>();
    return {
      grantId: record.grantId,
      person: { id: record.accountId, email: person?.email },
      application: { clientId: record.clientId, name: name ?? client?.clientName ?? record.clientId },
      permissions: record.permissions.map((scope) => ({ scope, obtainable: obtainable.has(scope) })),
      since: record.createdAt,
      lastUsed: record.lastUsedAt,
    };
  }));
  // A count is an index range of the filter: shown for a filtered view only (never a count of everything per view).
  const total = hasFilter(query) ? await deps.authorizations.countAuthorizations(filter) : undefined;
  return { rows, next, total };
}

/** How many authorizations the filter matches now (the number the revoke-all confirmation names). */
export async function countAuthorizations(deps: AuthorizationDeps, query: AuthorizationQuery): Promise<number> {
  const filter = await toFilter(deps, query);
  return filter ? deps.authorizations.countAuthorizations(filter) : 0;
}

/**
 * Revokes one grant the way "Remove access" does (its refresh tokens and codes stop working,
 * resource servers drop its access tokens) and records who did it, whose it was and what it held.
 */
async function revoke(deps: AuthorizationDeps, admin: AccountRecord, record: AuthorizationRecord, bulk: boolean): Promise<void> {
  await deps.sessions.revokeGrant(record.grantId);
  await recordRevokedGrants(deps.audit, accountActor(admin), [record], bulk ? { bulk: true } : {});
}

export async function revokeAuthorization(deps: AuthorizationDeps, admin: AccountRecord, grantId: string): Promise<void> {
  const record = await deps.authorizations.findAuthorization(grantId);
  if (!record) throw new AppError('authorization_not_found', 'this authorization does not exist any more', { status: 404 });
  await revoke(deps, admin, record, false);
}

export type RevokeAllResult = { outcome: 'revoked'; count: number } | { outcome: 'changed'; count: number };

/**
 * "Revoke all" of a filter's results. `confirmedCount` is the number the confirmation page named:
 * when the filter matches another number now, nothing is revoked and the new number comes back to
 * be confirmed again. No filter at all (every authorization of every person) needs `everything`.
 * Only grants made before the call are revoked: one consented meanwhile was not in what was confirmed.
 */
export async function revokeAuthorizations(deps: AuthorizationDeps, admin: AccountRecord, query: AuthorizationQuery,
  confirmedCount: number, everything: boolean): Promise<RevokeAllResult> {
  if (!hasFilter(query) && !everything) {
    throw new AppError('authorizations_unfiltered', 'revoking every authorization needs the explicit confirmation', { status: 400 });
  }
  const filter = await toFilter(deps, query);
  const count = filter ? await deps.authorizations.countAuthorizations(filter) : 0;
  if (!filter || count !== confirmedCount) return { outcome: 'changed', count };
  let after: AuthorizationFilter['after'] = { createdAt: new Date(), grantId: '\uffff' };
  let revoked = 0;
  for (;;) {
    const batch = await deps.authorizations.listAuthorizations({ ...filter, after }, REVOKE_BATCH);
    await Promise.all(batch.map((record) => revoke(deps, admin, record, true)));
    revoked += batch.length;
    if (batch.length < REVOKE_BATCH) return { outcome: 'revoked', count: revoked };
    const last = batch.at(-1)!;
    after = { createdAt: last.createdAt, grantId: last.grantId };
  }
}
