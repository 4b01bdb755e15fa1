// The console's ledger search (/admin/audit, and its export): what a typed person means as a filter.
import { describe, expect, it } from '@jest/globals';
import { ledgerFilter, NOTHING } from '../../src/audit/ledger-query.ts';
import type { AccountRecord, AccountStore } from '../../src/storage/contract.ts';
import type { PermissionCatalog } from '../../src/permissions/catalog.ts';

const ann = { id: 'ann-id', email: 'ann@example.com' } as AccountRecord;
const accounts = { findAccountByEmail: async (email: string) => (email === ann.email ? ann : undefined) } as unknown as AccountStore;
const catalog = { isKnownScope: () => false } as unknown as PermissionCatalog;

describe('ledgerFilter', () => {
  it('finds a person by a typed address, case and spaces aside', async () => {
    expect(await ledgerFilter({ accounts, catalog }, { q: ' Ann@Example.com ' })).toEqual({ subject: 'ann-id' });
    expect(await ledgerFilter({ accounts, catalog }, { actor: 'ann@example.com' })).toEqual({ actorId: 'ann-id' });
  });

  it('a half-typed or malformed address matches nobody (no error page)', async () => {
    for (const typed of ['ann@example', 'a b@example.com', '@']) {
      expect(await ledgerFilter({ accounts, catalog }, { q: typed })).toBe(NOTHING);
      expect(await ledgerFilter({ accounts, catalog }, { person: typed })).toBe(NOTHING);
    }
  });
});
