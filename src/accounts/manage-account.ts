import type { AccountRecord } from '../storage/contract.ts';
import { isDuplicateError } from '../storage/contract.ts';
import { AppError } from '../shared/app-error.ts';
import { accountActor, type AuditEvent } from '../audit/audit-log.ts';
import { recordRevokedGrants } from '../audit/grant-revocations.ts';
import { hashPassword, verifyPassword } from './password-hash.ts';
import { checkPasswordRules, normalizeEmail } from './account-rules.ts';
import { issueOneTimeToken, redeemOneTimeToken, revokeOneTimeTokens } from './one-time-token.ts';
import type { AccountFlowDeps, RequestContext } from './account-flows.ts';
import type { LoginThrottle } from './login-throttle.ts';

export async function updateProfile(deps: AccountFlowDeps, account: AccountRecord, input: { name: string }, context: RequestContext) {
  const name = input.name.trim();
  if (name.length > 200) throw new AppError('invalid_name', 'a name can have at most 200 characters');
  await deps.accounts.updateAccountById(account.id, { name, updatedAt: new Date() });
  await deps.audit.record({ type: 'account.profile_updated', actor: accountActor(account), subject: account.id, ip: context.ip });
}

/** What checking the current password needs: the sign-in's throttle, whose per-account counts it shares. */
export interface CurrentPasswordDeps {
  throttle: LoginThrottle;
}

const tooManyAttempts = (seconds: number) => new AppError('too_many_attempts', 'too many attempts; try again later',
  { status: 429, params: { minutes: Math.ceil(seconds / 60) }, headers: { 'Retry-After': String(seconds) } });

/**
 * Sensitive changes need the current password (ASVS 5 6.2.3). Each check is a guess like a
 * sign-in's, so it counts against the sign-in's limits for the account (10 per 15 minutes by
 * default, never more than 100 an hour: NIST SP 800-63B §5.2.2, ASVS 4 2.2.1): otherwise a stolen
 * session could guess the password around the sign-in throttle. Over the limit, even the right
 * password is refused until the lockout ends (429 with Retry-After, RFC 6585 §4), as at sign-in.
 */
export async function checkCurrentPassword(deps: CurrentPasswordDeps, account: AccountRecord, password: string,
  context: Pick<RequestContext, 'ip'>): Promise<void> {
  // Counted before the (argon2) check, so that concurrent guesses cannot all pass the lockout.
  const attempt = await deps.throttle.countAttempt(account.email, context.ip ?? '');
  if (!attempt.isAllowed) throw tooManyAttempts(attempt.retryAfter);
  if (!(await verifyPassword(password, account.passwordHash))) {
    if (attempt.retryAfterIfFailed > 0) throw tooManyAttempts(attempt.retryAfterIfFailed);
    throw new AppError('current_password_wrong', 'the current password is not right', { status: 400 });
  }
  await attempt.succeeded();
}

/**
 * After a credential changes (password change or reset): every session but `exceptSessionUid`
 * ends, and every app's grant is revoked with its refresh tokens, publishing the revocation event
 * so resource servers drop live access tokens at once (ASVS 5 7.4.3; RFC 9700 §4.14.2). Pending
 * email-change and reset links die too: whoever held the old password may have asked for them.
 */
export async function signOutEverywhere(deps: AccountFlowDeps, accountId: string, actor: AuditEvent['actor'], exceptSessionUid?: string) {
  await revokeOneTimeTokens(deps.tokens, accountId, ['change_email', 'reset_password']);
  const sessionsEnded = await deps.sessions.endSessions(accountId, exceptSessionUid);
  const revoked = await deps.sessions.revokeAllConnectedApps(accountId);
  await recordRevokedGrants(deps.audit, actor, revoked);
  return { sessionsEnded, grantsRevoked: revoked.length };
}

/** Needs the current password; the other sessions and every app's tokens end (signOutEverywhere). */
export async function changePassword(
  deps: AccountFlowDeps,
  account: AccountRecord,
  input: { currentPassword: string; newPassword: string; sessionUid: string | undefined },
  context: RequestContext,
) {
  await checkCurrentPassword(deps, account, input.currentPassword, context);
  checkPasswordRules(input.newPassword, { minLength: deps.passwordMinLength, email: account.email });
  await deps.accounts.updateAccountById(account.id, { passwordHash: await hashPassword(input.newPassword), updatedAt: new Date() });
  const ended = await signOutEverywhere(deps, account.id, accountActor(account), input.sessionUid);
  await deps.audit.record({
    type: 'password.changed', actor: accountActor(account), subject: account.id, ip: context.ip, details: ended,
  });
  await deps.mail.send('password_changed', account.email, context.locale, deps.links.forgotPassword());
}

/**
 * Starts an email change: the new address must be confirmed through a link mailed to it, and the
 * old address is told (so a hijacked session cannot quietly take the account over).
 */
export async function requestEmailChange(
  deps: AccountFlowDeps,
  account: AccountRecord,
  input: { newEmail: string; currentPassword: string },
  context: RequestContext,
) {
  await checkCurrentPassword(deps, account, input.currentPassword, context);
  const email = normalizeEmail(input.newEmail);
  if (email === account.email) throw new AppError('email_unchanged', 'this is already your email address');
  // A new request supersedes the pending ones: only the latest link changes the address.
  const token = await issueOneTimeToken(deps.tokens, 'change_email', { accountId: account.id, email, previousEmail: account.email },
    { supersede: true });
  await deps.mail.send('confirm_new_email', email, context.locale, deps.links.confirmEmailChange(token));
  await deps.mail.send('email_changed', account.email, context.locale, deps.links.account(), { email });
  await deps.audit.record({ type: 'account.email_change_requested', actor: accountActor(account), subject: account.id, ip: context.ip });
}

/** Completes an email change from its link. False when the link is unknown, used or expired. */
export async function confirmEmailChange(deps: AccountFlowDeps, token: string, context: RequestContext): Promise<boolean> {
  const payload = await redeemOneTimeToken(deps.tokens, 'change_email', token);
  if (!payload) return false;
  const account = await deps.accounts.findAccountById(payload.accountId!);
  if (!account || account.email !== payload.previousEmail) return false;
  try {
    await deps.accounts.updateAccountById(account.id, { email: String(payload.email), emailVerified: true, updatedAt: new Date() });
  } catch (error) {
    if (isDuplicateError(error)) throw new AppError('email_taken', 'another account uses this email address now', { status: 409 });
    throw error;
  }
  await deps.audit.record({
    type: 'account.email_changed', actor: accountActor(account), subject: account.id, ip: context.ip,
    details: { from: account.email, to: payload.email },
  });
  return true;
}
