import type { FindAccount } from 'oidc-provider';
import type { AccountStore } from '../storage/contract.ts';

/** oidc-provider's findAccount: a disabled or deleted account ends every flow that needs it. */
export function createFindAccount(accounts: AccountStore): FindAccount {
  return async (_ctx, sub) => {
    const account = await accounts.findAccountById(sub);
    if (!account || account.disabled) return undefined;
    return {
      accountId: account.id,
      async claims() {
        return { sub: account.id, name: account.name, email: account.email, email_verified: account.emailVerified };
      },
    };
  };
}
