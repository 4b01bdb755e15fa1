import type { AccountRecord } from '../storage/contract.ts';
import type { Services } from '../services.ts';
import { createAccount } from '../accounts/create-account.ts';
import { checkRoles, setAccountRoles } from '../accounts/set-account-roles.ts';
import { normalizeEmail } from '../accounts/account-rules.ts';
import { AppError } from '../shared/app-error.ts';
import { cliActor, isoDate, list, str, wholeNumber, type Command } from './command.ts';

/** What the command line shows of an account: never the password hash. */
const describeAccount = (account: AccountRecord) => ({
  id: account.id, email: account.email, name: account.name, roles: account.roles, email_verified: account.emailVerified,
  disabled: account.disabled, created_at: isoDate(account.createdAt),
});

async function twoFactorStatus(services: Services, accountId: string) {
  const mfa = await services.stores.durable.mfa.findMfaByAccountId(accountId);
  if (!mfa) return { status: 'off' };
  // An enrolment that never saw its first code protects nothing yet.
  if (!mfa.enabledAt) return { status: 'pending' };
  return { status: 'enabled', enabled_at: isoDate(mfa.enabledAt), recovery_codes_left: mfa.recoveryCodeHashes.length };
}

export const USER_COMMANDS: Record<string, Command> = {
  'users create': {
    summary: 'create an account (given the default role unless --role is given)',
    options: {
      email: { type: 'string', value: 'E', help: 'the email address (the sign-in name)' },
      password: { type: 'string', value: 'P', help: 'the password (at least the configured minimum length)' },
      name: { type: 'string', value: 'N', help: 'the display name' },
      role: { type: 'string', multiple: true, value: 'R', help: 'a role from config/roles.json; repeat for several' },
      verified: { type: 'boolean', help: 'mark the email address as confirmed' },
    },
    required: ['email', 'password'],
    async run(services, options) {
      const account = await createAccount(services.accountDeps, {
        email: str(options, 'email')!, password: str(options, 'password')!, name: str(options, 'name'),
        roles: list(options, 'role'), emailVerified: options.verified === true,
      }, cliActor());
      return { id: account.id, email: account.email, name: account.name, roles: account.roles,
        email_verified: account.emailVerified };
    },
  },
  'users set-roles': {
    summary: "replace an account's roles (permissions taken away stop at once)",
    options: {
      email: { type: 'string', value: 'E', help: 'the account' },
      role: { type: 'string', multiple: true, value: 'R', help: 'a role from config/roles.json; repeat for several' },
    },
    required: ['email', 'role'],
    async run(services, options) {
      const account = await setAccountRoles(services.accountDeps, str(options, 'email')!, list(options, 'role'), cliActor());
      return { id: account.id, email: account.email, roles: account.roles };
    },
  },
  'users show': {
    summary: 'show an account: roles, two-factor status, dates',
    options: { email: { type: 'string', value: 'E', help: 'the account' } },
    required: ['email'],
    async run(services, options) {
      const account = await services.stores.durable.accounts.findAccountByEmail(normalizeEmail(str(options, 'email')!));
      if (!account) throw new AppError('account_not_found', 'no account has this email address', { status: 404 });
      return { ...describeAccount(account), updated_at: isoDate(account.updatedAt),
        two_factor: await twoFactorStatus(services, account.id) };
    },
  },
  'users list': {
    summary: 'list accounts, oldest first',
    options: {
      role: { type: 'string', value: 'R', help: 'only accounts with this role' },
      limit: { type: 'string', value: 'N', help: 'at most N accounts (1 to 10000, default 100)' },
    },
    required: [],
    async run(services, options) {
      const role = str(options, 'role');
      if (role !== undefined) checkRoles(services.catalog, [role]);
      const limit = wholeNumber(options, 'limit', 100, { min: 1, max: 10_000 });
      const accounts = await services.stores.durable.accounts.listAccounts({ ...(role !== undefined ? { role } : {}), limit });
      return { users: accounts.map(describeAccount), count: accounts.length };
    },
  },
};
