import { isAppError } from '../shared/app-error.ts';
import { createAccount } from './create-account.ts';
import { issueOneTimeToken } from './one-time-token.ts';
import { hashPassword } from './password-hash.ts';
import { checkPasswordRules, findAccountByTypedEmail, normalizeEmail } from './account-rules.ts';
import type { AccountFlowDeps, RequestContext } from './account-flows.ts';

/**
 * Registers an unconfirmed account and mails the confirmation link. An address that already has
 * an account gets a mail saying so instead, and the caller sees the same answer, after the same
 * time, either way (ASVS 5 6.3.8: no account enumeration at sign-up). Mail leaves through a queue,
 * so neither path waits for its delivery.
 */
export async function registerAccount(
  deps: AccountFlowDeps,
  input: { email: string; password: string; name: string },
  context: RequestContext,
  interaction?: string,
): Promise<void> {
  const email = normalizeEmail(input.email);
  // Before the lookup: a refused password must be refused for a taken address too.
  checkPasswordRules(input.password, { minLength: deps.passwordMinLength, email });
  const existing = await deps.accounts.findAccountByEmail(email);
  if (existing) {
    // The argon2id hash is most of a new account's cost; paying it here keeps the two paths even.
    await hashPassword(input.password);
    await deps.audit.record({ type: 'account.register_existing', actor: { kind: 'account', id: null }, subject: existing.id, ip: context.ip });
    await deps.mail.send('account_exists', email, context.locale, deps.links.forgotPassword());
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
  // The token is issued with the mail, off the request path: a new address costs no more than a taken one.
  await deps.mail.send('verify_email', email, context.locale,
    async () => deps.links.verifyEmail(await issueOneTimeToken(deps.tokens, 'verify_email', { accountId, email }), interaction));
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
