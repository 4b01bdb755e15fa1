import { randomUUID } from 'node:crypto';
import type { AccountRecord, AccountStore } from '../storage/contract.ts';
import { isDuplicateError } from '../storage/contract.ts';
import type { AuditEvent, AuditLog } from '../audit/audit-log.ts';
import type { PermissionCatalog } from '../permissions/catalog.ts';
import { AppError } from '../shared/app-error.ts';
import { hashPassword } from './password-hash.ts';
import { checkPasswordRules, normalizeEmail } from './account-rules.ts';
import { checkRoles } from './set-account-roles.ts';
import type { RevocationPublisher } from '../revocation/revocation-events.ts';

export interface AccountDeps {
  accounts: AccountStore;
  audit: AuditLog;
  catalog: PermissionCatalog;
  passwordMinLength: number;
  revocations: RevocationPublisher;
}

export interface NewAccount {
  email: string;
  password: string;
  name?: string | undefined;
  roles?: string[] | undefined;
  emailVerified?: boolean | undefined;
}

export async function createAccount(deps: AccountDeps, input: NewAccount, actor: AuditEvent['actor']): Promise<AccountRecord> {
  const email = normalizeEmail(input.email);
  checkPasswordRules(input.password, { minLength: deps.passwordMinLength, email });
  const roles = input.roles?.length ? [...new Set(input.roles)] : [deps.catalog.defaultRole];
  checkRoles(deps.catalog, roles);
  const now = new Date();
  const account: AccountRecord = {
    id: randomUUID(),
    email,
    name: (input.name ?? '').trim().slice(0, 200),
    passwordHash: await hashPassword(input.password),
    emailVerified: input.emailVerified ?? false,
    roles,
    disabled: false,
    createdAt: now,
    updatedAt: now,
  };
  try {
    await deps.accounts.insertAccount(account);
  } catch (error) {
    if (isDuplicateError(error)) {
      throw new AppError('email_taken', 'an account with this email address already exists', { status: 409 });
    }
    throw error;
  }
  await deps.audit.record({ type: 'account.registered', actor, subject: account.id, details: { roles } });
  return account;
}
