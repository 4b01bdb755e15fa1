import type { AccountRecord } from '../storage/contract.ts';
import { accountActor, type AuditLog } from '../audit/audit-log.ts';
import type { LoginThrottle } from './login-throttle.ts';
import type { AccountDeps } from './create-account.ts';
import { authenticate } from './authenticate.ts';
import { signIns } from '../metrics/instruments.ts';

export interface SignInDeps {
  accounts: AccountDeps['accounts'];
  audit: AuditLog;
  throttle: LoginThrottle;
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
 * The password step of a sign-in: throttled before the password is even checked (RFC 6585 §4,
 * NIST SP 800-63B §5.2.2), then checked, then recorded in the ledger — naming the account when the
 * email has one, so a review sees the attempts against each account (ASVS 5 16.3.1). Each outcome
 * is counted on /metrics.
 */
export async function signInWithPassword(
  deps: SignInDeps,
  input: { email: string; password: string },
  context: { ip: string | null; clientId: string },
): Promise<PasswordSignIn> {
  const result = await checkPassword(deps, input, context);
  signIns.inc({ outcome: result.outcome });
  return result;
}

async function checkPassword(
  deps: SignInDeps,
  input: { email: string; password: string },
  context: { ip: string | null; clientId: string },
): Promise<PasswordSignIn> {
  const ip = context.ip ?? '';
  const wait = await deps.throttle.retryAfter(input.email, ip);
  if (wait > 0) return { outcome: 'throttled', retryAfterSeconds: wait };
  const result = await authenticate(deps, input.email, input.password);
  const entry = { clientId: context.clientId, ip: context.ip };
  // authenticate() says `account_disabled` only after the right password (ASVS 5 6.3.8: an unknown
  // email and a wrong password stay one answer); it is not a guess, so the throttle does not count it.
  if (!result.ok && result.reason === 'account_disabled') {
    await deps.audit.record({ type: 'login.failed', actor: { kind: 'account', id: null }, subject: result.account?.id ?? null, ...entry,
      outcome: 'failure', details: { reason: result.reason } });
    return { outcome: 'account_disabled' };
  }
  if (!result.ok) {
    await deps.audit.record({
      type: 'login.failed', actor: { kind: 'account', id: null }, subject: result.account?.id ?? null, ...entry,
      outcome: 'failure', details: { reason: result.reason },
    });
    const blockedFor = await deps.throttle.recordFailure(input.email, ip);
    return blockedFor > 0 ? { outcome: 'throttled', retryAfterSeconds: blockedFor } : { outcome: 'invalid_credentials' };
  }
  await deps.throttle.recordSuccess(input.email);
  const { account } = result;
  if (!account.emailVerified) {
    await deps.audit.record({ type: 'login.failed', actor: accountActor(account), subject: account.id, ...entry, outcome: 'failure',
      details: { reason: 'email_not_verified' } });
    return { outcome: 'not_activated', account };
  }
  await deps.audit.record({ type: 'login.succeeded', actor: accountActor(account), subject: account.id, ...entry,
    details: { amr: ['pwd'] } });
  return { outcome: 'signed_in', account };
}
