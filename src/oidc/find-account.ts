import type { FindAccount } from 'oidc-provider';
import type { AccountRecord, AccountStore } from '../storage/contract.ts';

/** Loads an account once per request, however many provider hooks ask for it. */
export type AccountLoader = (ctx: object, accountId: string) => Promise<AccountRecord | undefined>;

export function createAccountLoader(accounts: AccountStore): AccountLoader {
  const perRequest = new WeakMap<object, Map<string, Promise<AccountRecord | undefined>>>();
  return (ctx, accountId) => {
    let loaded = perRequest.get(ctx);
    if (!loaded) perRequest.set(ctx, (loaded = new Map()));
    let account = loaded.get(accountId);
    if (!account) loaded.set(accountId, (account = accounts.findAccountById(accountId)));
    return account;
  };
}

/** oidc-provider's findAccount: a disabled or deleted account ends every flow that needs it. */
export function createFindAccount(loadAccount: AccountLoader): FindAccount {
  return async (ctx, sub) => {
    const account = await loadAccount(ctx, sub);
    if (!account || account.disabled) return undefined;
    return {
      accountId: account.id,
      async claims() {
        return { sub: account.id, name: account.name, email: account.email, email_verified: account.emailVerified };
      },
    };
  };
}
