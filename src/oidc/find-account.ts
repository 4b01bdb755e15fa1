import { errors, type FindAccount } from 'oidc-provider';
import type { SignInCheck } from './interaction-policy.ts';
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

/**
 * oidc-provider's findAccount: a disabled or deleted account ends every flow that needs it. At the
 * token endpoint it is called with the code or refresh token being redeemed, which records how the
 * person signed in (amr): a sign-in that no longer satisfies the account (it enrolled a second
 * factor, or gained a role that requires one, since) gets no new tokens, so tokens and pages never
 * disagree about who is signed in (src/accounts/sign-in-state.ts).
 */
export function createFindAccount(loadAccount: AccountLoader, signInSatisfies: SignInCheck): FindAccount {
  return async (ctx, sub, token) => {
    const account = await loadAccount(ctx, sub);
    if (!account || account.disabled) return undefined;
    const amr = token && 'amr' in token ? (token.amr as string[] | undefined) : undefined;
    if (token && (token.kind === 'RefreshToken' || token.kind === 'AuthorizationCode')
      && !(await signInSatisfies(ctx, sub, amr ?? []))) {
      throw new errors.InvalidGrant('the sign-in behind this grant no longer meets the account\'s requirements; sign in again');
    }
    return {
      accountId: account.id,
      async claims() {
        // OIDC Core §5.3.2: a claim without a value is omitted, not sent empty (an account created without a name).
        return { sub: account.id, ...(account.name ? { name: account.name } : {}), email: account.email,
          email_verified: account.emailVerified };
      },
    };
  };
}
