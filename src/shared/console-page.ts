/** The admin console's tables show this many rows a page, read by keyset (a cursor), never by OFFSET. */
export const CONSOLE_PAGE_SIZE = 50;

/** What a page asks its store for: one row more than it shows, to know whether another page follows. */
export const CONSOLE_PAGE_READ = CONSOLE_PAGE_SIZE + 1;

/** The rows a page shows of the CONSOLE_PAGE_READ its store gave, and the next page's cursor (its last row's) when more follow. */
export function consolePage<T, C>(found: readonly T[], cursorOf: (last: T) => C): { shown: T[]; next: C | undefined } {
  const shown = found.slice(0, CONSOLE_PAGE_SIZE);
  return { shown, next: found.length > CONSOLE_PAGE_SIZE ? cursorOf(shown.at(-1)!) : undefined };
}
