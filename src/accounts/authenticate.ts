import type { AccountRecord } from '../storage/contract.ts';
import { dummyPasswordHash, verifyPassword } from './password-hash.ts';
import type { AccountDeps } from './create-account.ts';
import { PASSWORD_MAX_LENGTH } from './account-rules.ts';

export type AuthenticationResult =
  | { ok: true; account: AccountRecord }
  | { ok: false; reason: 'invalid_credentials' };

/**
 * Checks an email and password. An unknown email, a wrong password and a disabled account all
 * answer `invalid_credentials` after the same argon2 work (ASVS 5 6.3.8: no user enumeration).
 */
export async function authenticate(deps: Pick<AccountDeps, 'accounts'>, email: string, password: string): Promise<AuthenticationResult> {
  if ([...password].length > PASSWORD_MAX_LENGTH) return { ok: false, reason: 'invalid_credentials' };
  const account = await deps.accounts.findAccountByEmail(email.trim().toLowerCase());
  const matches = await verifyPassword(password, account?.passwordHash ?? (await dummyPasswordHash()));
  if (!account || !matches || account.disabled) return { ok: false, reason: 'invalid_credentials' };
  return { ok: true, account };
}
