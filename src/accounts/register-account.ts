import { isAppError } from '../shared/app-error.ts';
import { createAccount } from './create-account.ts';
import { issueOneTimeToken } from './one-time-token.ts';
import { findAccountByTypedEmail, normalizeEmail } from './account-rules.ts';
import type { AccountFlowDeps, RequestContext } from './account-flows.ts';

/**
 * Registers an unconfirmed account and mails the confirmation link. An address that already has
 * an account gets a mail saying so instead, and the caller sees the same answer either way
 * (ASVS 5 6.3.8: no account enumeration at sign-up).
 */
export async function registerAccount(
  deps: AccountFlowDeps,
  input: { email: string; password: string; name: string },
  context: RequestContext,
  interaction?: string,
): Promise<void> {
  const email = normalizeEmail(input.email);
  const existing = await deps.accounts.findAccountByEmail(email);
  if (existing) {
    await deps.mail.send('account_exists', email, context.locale, deps.links.forgotPassword());
    await deps.audit.record({ type: 'account.register_existing', actor: { kind: 'account', id: null }, subject: existing.id, ip: context.ip });
    return;
  }
  try {
    const account = await createAccount(deps, { email, password: input.password, name: input.name },
      { kind: 'account', id: null });
    await sendVerificationMail(deps, account.id, email, context, interaction);
  } catch (error) {
    // Two sign-ups with one address at the same moment: the loser is told what the first one was.
    if (isAppError(error) && error.code === 'email_taken') {
      await deps.mail.send('account_exists', email, context.locale, deps.links.forgotPassword());
      return;
    }
    throw error;
  }
}

async function sendVerificationMail(deps: AccountFlowDeps, accountId: string, email: string, context: RequestContext,
  interaction?: string) {
  const token = await issueOneTimeToken(deps.tokens, 'verify_email', { accountId, email });
  await deps.mail.send('verify_email', email, context.locale, deps.links.verifyEmail(token, interaction));
}

/**
 * "Resend the activation email": a new link when the address belongs to an unconfirmed account.
 * The caller answers the same whatever the address (no account enumeration).
 */
export async function resendVerification(deps: AccountFlowDeps, rawEmail: string, context: RequestContext, interaction?: string) {
  const account = await findAccountByTypedEmail(deps.accounts, rawEmail);
  if (account && !account.emailVerified && !account.disabled) {
    await sendVerificationMail(deps, account.id, account.email, context, interaction);
  }
}
