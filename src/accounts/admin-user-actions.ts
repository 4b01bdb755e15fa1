// What an administrator does to an account from /admin/users/:id. Each is recorded in the ledger
// with the administrator as the actor (ASVS 5 16.2.1: who did what to whom).
import type { AccountRecord } from '../storage/contract.ts';
import { accountActor } from '../audit/audit-log.ts';
import { AppError } from '../shared/app-error.ts';
import type { RequestContext } from './account-flows.ts';
import { findUserForAdmin, type AdminUserDeps } from './admin-users.ts';
import { checkKeepsAnActiveAdmin } from './console-admins.ts';
import { signOutEverywhere } from './manage-account.ts';
import { resendVerification } from './register-account.ts';
import { changeAccountRoles } from './set-account-roles.ts';

/**
 * Disables an account: first the flag, so that nothing new is issued to it (sign-in refuses it,
 * oidc-provider's findAccount returns nothing, so refresh fails); then every session ends and every
 * grant is revoked with its refresh tokens; then a `subject` revocation tells resource servers to
 * drop the live access tokens of the person (RFC 7009 §2.2 leaves access tokens to them: ours are
 * JWTs, valid until they expire unless told). Refused for the last active administrator.
 */
export async function disableAccount(deps: AdminUserDeps, admin: AccountRecord, accountId: string): Promise<void> {
  const account = await findUserForAdmin(deps, accountId);
  if (!account.disabled) {
    await checkKeepsAnActiveAdmin(deps, account, { roles: account.roles, disabled: true });
    await deps.accounts.updateAccountById(account.id, { disabled: true, updatedAt: new Date() });
    await deps.audit.record({ type: 'account.disabled', actor: accountActor(admin), subject: account.id });
  }
  // What follows the switch is repeatable: disabling a disabled account runs it again, so a retry
  // completes what a failure halfway (a store down) left undone. Each revoked grant is recorded.
  await signOutEverywhere(deps, account.id, accountActor(admin));
  await deps.revocations.revoke('subject', account.id);
}

/** Enables a disabled account: the person signs in again with their password (nothing they had comes back). */
export async function enableAccount(deps: AdminUserDeps, admin: AccountRecord, accountId: string): Promise<void> {
  const account = await findUserForAdmin(deps, accountId);
  if (!account.disabled) return;
  await deps.accounts.updateAccountById(account.id, { disabled: false, updatedAt: new Date() });
  await deps.audit.record({ type: 'account.enabled', actor: accountActor(admin), subject: account.id });
}

/**
 * For a person who lost their authenticator: the factor and its recovery codes are removed and
 * their sessions end; at the next sign-in they enrol again when a role requires it (the sign-in
 * policy, src/mfa/second-factor.ts). They are mailed, as when they turn it off themselves, so a
 * reset they did not ask for does not go unnoticed.
 */
export async function resetSecondFactor(deps: AdminUserDeps, admin: AccountRecord, accountId: string, context: RequestContext) {
  const account = await findUserForAdmin(deps, accountId);
  if (!(await deps.mfa.deleteMfa(account.id))) {
    throw new AppError('mfa_not_set_up', 'this account has no two-factor sign-in to reset', { status: 409 });
  }
  const sessionsEnded = await deps.sessions.endSessions(account.id);
  await deps.audit.record({ type: 'mfa.reset', actor: accountActor(admin), subject: account.id, details: { sessionsEnded } });
  await deps.mail.send('mfa_disabled', account.email, context.locale, deps.links.accountSecurity());
}

/** A new activation link, through the same flow as "resend the activation email" on the sign-in page. */
export async function resendActivation(deps: AdminUserDeps, admin: AccountRecord, accountId: string, context: RequestContext) {
  const account = await findUserForAdmin(deps, accountId);
  if (account.emailVerified) throw new AppError('email_already_confirmed', 'this email address is already confirmed', { status: 409 });
  if (account.disabled) throw new AppError('account_is_disabled', 'the account is disabled: activate it first', { status: 409 });
  await resendVerification(deps, account.email, context);
  await deps.audit.record({ type: 'account.activation_resent', actor: accountActor(admin), subject: account.id });
}

/** Assigns roles from the console (changeAccountRoles: last-admin guard, revocation, ledger). */
export async function assignRoles(deps: AdminUserDeps, admin: AccountRecord, accountId: string, roles: string[]) {
  const account = await findUserForAdmin(deps, accountId);
  return changeAccountRoles(deps, account, roles, accountActor(admin));
}
