import type { AccountRecord } from '../storage/contract.ts';
import { dummyPasswordHash, verifyPassword } from './password-hash.ts';
import type { AccountDeps } from './create-account.ts';
import { PASSWORD_MAX_LENGTH } from './account-rules.ts';

/** Why a password check failed: for the ledger only; the person always sees one answer. */
export type AuthenticationFailure = 'unknown_email' | 'wrong_password' | 'account_disabled';

export type AuthenticationResult =
  | { ok: true; account: AccountRecord }
  | { ok: false; reason: AuthenticationFailure; account: AccountRecord | undefined };

/**
 * Checks an email and password. An unknown email, a wrong password and a disabled account all
 * cost the same argon2 work (ASVS 5 6.3.8: no user enumeration); the caller shows one answer.
 */
export async function authenticate(deps: Pick<AccountDeps, 'accounts'>, email: string, password: string): Promise<AuthenticationResult> {
  const account = await deps.accounts.findAccountByEmail(email.trim().toLowerCase());
  if ([...password].length > PASSWORD_MAX_LENGTH) return { ok: false, reason: account ? 'wrong_password' : 'unknown_email', account };
  const matches = await verifyPassword(password, account?.passwordHash ?? (await dummyPasswordHash()));
  if (!account) return { ok: false, reason: 'unknown_email', account };
  if (!matches) return { ok: false, reason: 'wrong_password', account };
  if (account.disabled) return { ok: false, reason: 'account_disabled', account };
  return { ok: true, account };
}
