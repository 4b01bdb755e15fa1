import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { AppError } from '../shared/app-error.ts';
import type { AccountRecord, AccountStore } from '../storage/contract.ts';

// NIST SP 800-63B §3.1.1.2 / ASVS 5 6.2: at least 8 characters (configurable, 15+ recommended),
// at least 64 allowed, no composition rules, never truncated, not a known common password.
// The upper bound only keeps a megabyte "password" away from argon2.
export const PASSWORD_MAX_LENGTH = 1024;
export const PASSWORD_RECOMMENDED_LENGTH = 15;

let commonPasswords: Set<string> | undefined;
/** The 49,233 most common passwords of zxcvbn's list (shipped in @zxcvbn-ts/language-common), read on first use. */
function isCommonPassword(password: string): boolean {
  if (!commonPasswords) {
    const file = createRequire(import.meta.url).resolve('@zxcvbn-ts/language-common/src/passwords.json');
    commonPasswords = new Set((JSON.parse(readFileSync(file, 'utf8')) as string[]).map((p) => p.toLowerCase()));
  }
  return commonPasswords.has(password.toLowerCase());
}

/** Trimmed and lower-cased, so that one person cannot hold two accounts by changing case. */
export function normalizeEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (email.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    throw new AppError('invalid_email', 'enter a valid email address, like name@example.com');
  }
  return email;
}

/**
 * The account behind an address someone typed, or undefined, also for a malformed address: for
 * flows that answer the same whatever the address (no account enumeration).
 */
export async function findAccountByTypedEmail(accounts: AccountStore, raw: string): Promise<AccountRecord | undefined> {
  let email: string;
  try {
    email = normalizeEmail(raw);
  } catch {
    return undefined;
  }
  return accounts.findAccountByEmail(email);
}

export function checkPasswordRules(password: string, options: { minLength: number; email?: string }): void {
  const length = [...password].length;
  if (length < options.minLength) {
    throw new AppError('password_too_short', `the password needs at least ${options.minLength} characters`, {
      params: { min: options.minLength },
    });
  }
  if (length > PASSWORD_MAX_LENGTH) {
    throw new AppError('password_too_long', `the password can have at most ${PASSWORD_MAX_LENGTH} characters`, {
      params: { max: PASSWORD_MAX_LENGTH },
    });
  }
  const lower = password.toLowerCase();
  const email = options.email?.toLowerCase();
  if (isCommonPassword(password) || (email && (lower === email || lower === email.split('@')[0])) || /^tokenim\d*$/.test(lower)) {
    throw new AppError('password_common', 'this password is too common or too easy to guess; choose another, a short sentence works well');
  }
}

/**
 * The accounts a console page names (owners, people, actors), each read once by primary key: a
 * page of 50 rows costs at most 50 reads, never a scan. Ids with no account are left out.
 */
export async function findAccountsByIds(accounts: Pick<AccountStore, 'findAccountById'>, ids: Iterable<string | null | undefined>)
  : Promise<Map<string, AccountRecord>> {
  const distinct = [...new Set([...ids].filter((id): id is string => Boolean(id)))];
  const found = await Promise.all(distinct.map((id) => accounts.findAccountById(id)));
  return new Map(found.filter((account): account is AccountRecord => account !== undefined).map((account) => [account.id, account]));
}
