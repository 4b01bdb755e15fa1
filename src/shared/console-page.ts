import type { PermissionCatalog } from '../permissions/catalog.ts';

/** The admin console's tables show this many rows a page, read by keyset (a cursor), never by OFFSET. */
export const CONSOLE_PAGE_SIZE = 50;

/** What a page asks its store for: one row more than it shows, to know whether another page follows. */
export const CONSOLE_PAGE_READ = CONSOLE_PAGE_SIZE + 1;

/** The rows a page shows of the CONSOLE_PAGE_READ its store gave, and the next page's cursor (its last row's) when more follow. */
export function consolePage<T, C>(found: readonly T[], cursorOf: (last: T) => C): { shown: T[]; next: C | undefined } {
  const shown = found.slice(0, CONSOLE_PAGE_SIZE);
  return { shown, next: found.length > CONSOLE_PAGE_SIZE ? cursorOf(shown.at(-1)!) : undefined };
}

/** The filter the one search box of a console page names (PRODUCT.md: every page is searchable with `?q=`). */
export interface SearchBox {
  person?: string;
  permission?: string;
  /** Only on pages that know event types (the ledger). */
  type?: string;
  client?: string;
}

/**
 * `q` read as the filter it names: an email (it has an @) is a person, a catalog permission a
 * permission, an event type (where `isType` knows them) a type, anything else a client id.
 */
export function readSearchBox(catalog: Pick<PermissionCatalog, 'isKnownScope'>, q: string, isType: (term: string) => boolean = () => false)
  : SearchBox {
  const term = q.trim();
  if (!term) return {};
  if (term.includes('@')) return { person: term };
  if (isType(term)) return { type: term };
  return catalog.isKnownScope(term) ? { permission: term } : { client: term };
}
