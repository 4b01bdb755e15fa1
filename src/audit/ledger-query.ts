import type { AccountStore, AuditFilter } from '../storage/contract.ts';
import type { PermissionCatalog } from '../permissions/catalog.ts';
import { findAccountByTypedEmail } from '../accounts/account-rules.ts';
import { isAuditEventType } from './audit-events.ts';
import { readSearchBox } from '../shared/console-page.ts';

/** The ledger filters as typed on /admin/audit: people by email (or id), times as ISO 8601. */
export interface LedgerSearch {
  /** One box for anything (PRODUCT.md): an email, an event type, a permission, or else a client id. */
  q?: string | undefined;
  person?: string | undefined;
  actor?: string | undefined;
  client?: string | undefined;
  permission?: string | undefined;
  type?: string | undefined;
  outcome?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
}

/** A filter no record can match: a person who has no account, say. */
export const NOTHING = Symbol('nothing matches');

const time = (value: string | undefined) => {
  if (!value) return undefined;
  const at = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  return Number.isNaN(at.getTime()) ? undefined : at;
};

/** What the search means as a store filter; people are looked up by email (an id is taken as is). */
export async function ledgerFilter(deps: { accounts: AccountStore; catalog: PermissionCatalog }, search: LedgerSearch)
  : Promise<Omit<AuditFilter, 'limit' | 'beforeSeq'> | typeof NOTHING> {
  // A malformed address is a search that matches nobody, not a 400 page.
  const person = async (value: string) => (value.includes('@')
    ? (await findAccountByTypedEmail(deps.accounts, value))?.id ?? NOTHING
    : value);
  const filter: Omit<AuditFilter, 'limit' | 'beforeSeq'> = {};
  // The search box fills the field it names, unless that field was given itself.
  const box = readSearchBox(deps.catalog, search.q ?? '', isAuditEventType);
  search = { ...search, person: search.person || box.person, type: search.type || box.type,
    permission: search.permission || box.permission, client: search.client || box.client };
  for (const [key, value] of [['subject', search.person], ['actorId', search.actor]] as const) {
    if (!value) continue;
    const id = await person(value.trim());
    if (id === NOTHING) return NOTHING;
    filter[key] = id;
  }
  if (search.client) filter.clientId = search.client.trim();
  if (search.permission) filter.permission = search.permission.trim();
  if (search.type) filter.type = search.type;
  if (search.outcome === 'success' || search.outcome === 'failure') filter.outcome = search.outcome;
  const since = time(search.since);
  const until = time(search.until);
  if (since) filter.since = since;
  if (until) filter.until = /^\d{4}-\d{2}-\d{2}$/.test(search.until!) ? new Date(until.getTime() + 86_400_000 - 1) : until;
  return filter;
}
