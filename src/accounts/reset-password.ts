import { AppError } from '../shared/app-error.ts';
import { hashPassword } from './password-hash.ts';
import { checkPasswordRules, findAccountByTypedEmail } from './account-rules.ts';
import { issueOneTimeToken, peekOneTimeToken, redeemOneTimeToken } from './one-time-token.ts';
import type { AccountFlowDeps, RequestContext } from './account-flows.ts';
import { accountActor } from '../audit/audit-log.ts';
import { signOutEverywhere } from './manage-account.ts';

/**
 * Mails a reset link when the account exists; the caller answers the same, after the same time,
 * either way (ASVS 5 6.3.8): the token is issued with the mail, off the request path.
 */
export async function requestPasswordReset(deps: AccountFlowDeps, rawEmail: string, context: RequestContext): Promise<void> {
  const account = await findAccountByTypedEmail(deps.accounts, rawEmail);
  await deps.audit.record({
    type: 'password.reset_requested', actor: { kind: 'account', id: null }, subject: account?.id ?? null, ip: context.ip,
    outcome: account ? 'success' : 'failure',
  });
  if (!account || account.disabled) return;
  await deps.mail.send('reset_password', account.email, context.locale, async () =>
    deps.links.resetPassword(await issueOneTimeToken(deps.tokens, 'reset_password', { accountId: account.id, email: account.email })));
}

export const isResetLinkUsable = async (deps: AccountFlowDeps, token: string) =>
  (await peekOneTimeToken(deps.tokens, 'reset_password', token)) !== undefined;

/**
 * Sets a new password from a single-use link. The account is signed out everywhere and its apps'
 * refresh tokens are revoked (RFC 9700 §4.14.2, ASVS 5 7.4.3), and a notice is mailed. The link
 * proved the person reads the mailbox, so the address counts as confirmed.
 */
export async function resetPassword(deps: AccountFlowDeps, token: string, password: string, context: RequestContext) {
  const peeked = await peekOneTimeToken(deps.tokens, 'reset_password', token);
  if (!peeked) throw new AppError('reset_link_invalid', 'this reset link has expired or was already used; ask for a new one');
  // Rules first, so that a refused password does not use the link up.
  checkPasswordRules(password, { minLength: deps.passwordMinLength, email: String(peeked.email) });
  const payload = await redeemOneTimeToken(deps.tokens, 'reset_password', token);
  const account = payload && (await deps.accounts.findAccountById(payload.accountId!));
  if (!account || account.email !== payload.email) {
    throw new AppError('reset_link_invalid', 'this reset link has expired or was already used; ask for a new one');
  }
  await deps.accounts.updateAccountById(account.id, {
    passwordHash: await hashPassword(password), emailVerified: true, updatedAt: new Date(),
  });
  const ended = await signOutEverywhere(deps, account.id, accountActor(account));
  await deps.audit.record({ type: 'password.reset', actor: accountActor(account), subject: account.id, ip: context.ip, details: ended });
  await deps.mail.send('password_changed', account.email, context.locale, deps.links.forgotPassword());
  return account;
}
