import type { AccountRecord, AccountStore } from '../storage/contract.ts';
import { needsSecondFactor, type SignInPolicyDeps, type SignInRequest } from '../mfa/second-factor.ts';

// The one place that decides whether a person is signed in, and with which factors. The `mfa`
// prompt (src/oidc/interaction-policy.ts) asks for the second factor while this says no, and every
// signed-in page (src/http/koa-signed-in.ts) refuses a session for which it says no. Two readings
// of the session (accountId alone on the pages, amr in the prompt) let a password-only sign-in,
// stopped at the code page, change the email and password on /account (ASVS 5 6.3.3, 8.3.1).

/** What the provider's session says about its sign-in (RFC 8176 amr; loginTs in epoch seconds). */
export interface SessionSignIn {
  uid: string;
  accountId: string | undefined;
  amr: readonly string[] | undefined;
  acr: string | undefined;
  loginTs: number | undefined;
}

/** A person whose sign-in has completed every factor their account requires. */
export interface SignedIn {
  account: AccountRecord;
  sessionUid: string;
  amr: string[];
  acr: string | undefined;
  authTime: Date | undefined;
}

const NO_REQUEST: SignInRequest = { acrValues: [], scopes: [] };

/** Whether sign-in methods `amr` satisfy the account, and the app's request when there is one. */
export async function isSignInComplete(
  deps: SignInPolicyDeps,
  account: Pick<AccountRecord, 'id' | 'roles'>,
  amr: readonly string[],
  request: SignInRequest = NO_REQUEST,
): Promise<boolean> {
  if (!amr.includes('pwd')) return false;
  return amr.includes('otp') || !(await needsSecondFactor(deps, account, request));
}

/** The person the session has fully signed in; undefined for nobody, a disabled account or a half-finished sign-in. */
export async function resolveSignedIn(
  deps: SignInPolicyDeps & { accounts: AccountStore },
  session: SessionSignIn,
): Promise<SignedIn | undefined> {
  if (!session.accountId) return undefined;
  const account = await deps.accounts.findAccountById(session.accountId);
  if (!account || account.disabled) return undefined;
  const amr = [...(session.amr ?? [])];
  if (!(await isSignInComplete(deps, account, amr))) return undefined;
  return {
    account, sessionUid: session.uid, amr, acr: session.acr,
    authTime: session.loginTs === undefined ? undefined : new Date(session.loginTs * 1000),
  };
}
