import type { AccountRecord } from '../storage/contract.ts';
import { accountActor, type AuditLog } from '../audit/audit-log.ts';
import type { LoginThrottle } from './login-throttle.ts';
import type { AccountDeps } from './create-account.ts';
import { authenticate } from './authenticate.ts';
import { findAccountByTypedEmail } from './account-rules.ts';
import { signIns } from '../metrics/instruments.ts';
import type { SignInPolicyDeps, SignInRequest } from '../mfa/second-factor.ts';
import { isSignInComplete } from './sign-in-state.ts';

export interface SignInDeps {
  accounts: AccountDeps['accounts'];
  audit: AuditLog;
  throttle: LoginThrottle;
  /** What deciding whether the sign-in is complete reads (src/accounts/sign-in-state.ts). */
  secondFactor: SignInPolicyDeps;
}

/** Where a sign-in step comes from: the app, its request (what the sign-in must satisfy) and the client IP. */
export interface SignInContext {
  ip: string | null;
  clientId: string;
  request: SignInRequest;
}

/**
 * The ledger's record of a sign-in step that succeeded, by the one decision of when a sign-in is
 * complete (isSignInComplete): `login.succeeded` with the factors used (RFC 8176 amr) once it is,
 * `login.password_accepted` while a second factor is still due — a sign-in that stops at the code
 * page must not read as a success (ASVS 5 16.3.1).
 */
export async function recordSignInStep(deps: Pick<SignInDeps, 'audit' | 'secondFactor'>, account: AccountRecord, amr: string[],
  context: SignInContext, details: Record<string, unknown> = {}): Promise<void> {
  const isComplete = await isSignInComplete(deps.secondFactor, account, amr, context.request);
  await deps.audit.record({ type: isComplete ? 'login.succeeded' : 'login.password_accepted', actor: accountActor(account),
    subject: account.id, clientId: context.clientId, ip: context.ip,
    details: { amr, ...details, ...(isComplete ? {} : { pending: 'second_factor' }) } });
}

export type PasswordSignIn =
  | { outcome: 'signed_in'; account: AccountRecord }
  | { outcome: 'throttled'; retryAfterSeconds: number }
  | { outcome: 'invalid_credentials' }
  /** Only someone who knows the password learns that the account is not activated yet. */
  | { outcome: 'not_activated'; account: AccountRecord }
  /** Likewise, only the right password learns that an administrator disabled the account. */
  | { outcome: 'account_disabled' };

/**
 * The password step of a sign-in: counted and throttled before the password is even checked
 * (RFC 6585 §4, NIST SP 800-63B §5.2.2), then checked, then recorded in the ledger — naming the
 * account when the email has one, so a review sees the attempts against each account (ASVS 5
 * 16.3.1). Each outcome is counted on /metrics.
 */
export async function signInWithPassword(
  deps: SignInDeps,
  input: { email: string; password: string },
  context: SignInContext,
): Promise<PasswordSignIn> {
  const result = await checkPassword(deps, input, context);
  signIns.inc({ outcome: result.outcome });
  return result;
}

async function checkPassword(
  deps: SignInDeps,
  input: { email: string; password: string },
  context: SignInContext,
): Promise<PasswordSignIn> {
  // Counted before the (argon2) check, so that concurrent guesses cannot all pass the lockout.
  const attempt = await deps.throttle.countAttempt(input.email, context.ip ?? '');
  if (!attempt.isAllowed) {
    await recordRefusal(deps, input.email, context);
    return { outcome: 'throttled', retryAfterSeconds: attempt.retryAfter };
  }
  const result = await authenticate(deps, input.email, input.password);
  const entry = { clientId: context.clientId, ip: context.ip };
  // authenticate() says `account_disabled` only after the right password (ASVS 5 6.3.8: an unknown
  // email and a wrong password stay one answer); it is not a guess, so the throttle does not count it.
  if (!result.ok && result.reason === 'account_disabled') {
    await attempt.uncount();
    await deps.audit.record({ type: 'login.failed', actor: { kind: 'account', id: null }, subject: result.account?.id ?? null, ...entry,
      outcome: 'failure', details: { reason: result.reason } });
    return { outcome: 'account_disabled' };
  }
  if (!result.ok) {
    await deps.audit.record({
      type: 'login.failed', actor: { kind: 'account', id: null }, subject: result.account?.id ?? null, ...entry,
      outcome: 'failure', details: { reason: result.reason },
    });
    return attempt.retryAfterIfFailed > 0 ? { outcome: 'throttled', retryAfterSeconds: attempt.retryAfterIfFailed }
      : { outcome: 'invalid_credentials' };
  }
  await attempt.succeeded();
  const { account } = result;
  if (!account.emailVerified) {
    await deps.audit.record({ type: 'login.failed', actor: accountActor(account), subject: account.id, ...entry, outcome: 'failure',
      details: { reason: 'email_not_verified' } });
    return { outcome: 'not_activated', account };
  }
  await recordSignInStep(deps, account, ['pwd'], context);
  return { outcome: 'signed_in', account };
}

/**
 * A refused attempt (the lockout is on) is in the ledger once per lockout, naming the account when
 * the email has one (ASVS 5 16.3.1), not once per attempt: a script's thousands of refusals would
 * otherwise flood it.
 */
async function recordRefusal(deps: SignInDeps, email: string, context: SignInContext): Promise<void> {
  if (!(await deps.throttle.isFirstRefusal(email, context.ip ?? ''))) return;
  const account = await findAccountByTypedEmail(deps.accounts, email);
  await deps.audit.record({ type: 'login.throttled', actor: { kind: 'account', id: null }, subject: account?.id ?? null,
    clientId: context.clientId, ip: context.ip, outcome: 'failure' });
}
