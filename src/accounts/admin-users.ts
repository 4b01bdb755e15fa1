import { accountNameKey, type AccountRecord, type MfaStore } from '../storage/contract.ts';
import { AppError } from '../shared/app-error.ts';
import type { AccountFlowDeps } from './account-flows.ts';
import { listConnectedApps, type ConnectedAppView, type FindClient } from './connected-apps.ts';
import { CONSOLE_PAGE_READ, consolePage } from '../shared/console-page.ts';

/** What the admin console's user pages and actions need: the account flows and the second factors. */
export type AdminUserDeps = AccountFlowDeps & { mfa: MfaStore };

export interface UsersPage {
  accounts: AccountRecord[];
  /** Whether the second factor is on, per account id. */
  twoFactor: Map<string, boolean>;
  /** The cursor of the next page (the last email shown), when there is one. */
  next: string | undefined;
}

/**
 * /admin/users: every account, or those whose email or name starts with `query` (case-insensitive,
 * a prefix: "ali" finds alice@… and "Alice Wong"), in email order, a page at a time after the
 * email `after` (a keyset cursor: stable while accounts are added, no OFFSET scan).
 */
export async function searchUsers(deps: AdminUserDeps, query: string, after: string | undefined): Promise<UsersPage> {
  const prefix = accountNameKey(query.trim()) || undefined;
  const found = await deps.accounts.searchAccounts({ prefix, afterEmail: after, limit: CONSOLE_PAGE_READ });
  const { shown: accounts, next } = consolePage(found, (last) => last.email);
  // One primary-key read per row shown (50 at most), not a scan.
  const factors = await Promise.all(accounts.map((account) => deps.mfa.findMfaByAccountId(account.id)));
  return {
    accounts,
    twoFactor: new Map(accounts.map((account, i) => [account.id, Boolean(factors[i]?.enabledAt)])),
    next,
  };
}

export interface UserDetails {
  account: AccountRecord;
  twoFactor: { enabled: boolean; recoveryCodesLeft: number };
  /** When each live session signed in, newest first. */
  sessions: (Date | undefined)[];
  connectedApps: ConnectedAppView[];
}

export async function findUserForAdmin(deps: AdminUserDeps, accountId: string): Promise<AccountRecord> {
  const account = await deps.accounts.findAccountById(accountId);
  if (!account) throw new AppError('account_not_found', 'no account has this id', { status: 404 });
  return account;
}

/** /admin/users/:id: the account, its second factor, its sessions and the apps it authorized. */
export async function describeUser(deps: AdminUserDeps, accountId: string, findClient: FindClient): Promise<UserDetails> {
  const account = await findUserForAdmin(deps, accountId);
  const [mfa, sessions, connectedApps] = await Promise.all([
    deps.mfa.findMfaByAccountId(account.id),
    deps.sessions.listSessionSignIns(account.id),
    listConnectedApps(deps, account, findClient),
  ]);
  return {
    account,
    twoFactor: { enabled: Boolean(mfa?.enabledAt), recoveryCodesLeft: mfa?.enabledAt ? mfa.recoveryCodeHashes.length : 0 },
    sessions,
    connectedApps,
  };
}
