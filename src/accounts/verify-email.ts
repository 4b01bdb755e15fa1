import { redeemOneTimeToken } from './one-time-token.ts';
import type { AccountFlowDeps, RequestContext } from './account-flows.ts';
import { accountActor } from '../audit/audit-log.ts';

/** Confirms the address the link was sent to. False when the link is unknown, used or expired. */
export async function verifyEmail(deps: AccountFlowDeps, token: string, context: RequestContext): Promise<boolean> {
  const payload = await redeemOneTimeToken(deps.tokens, 'verify_email', token);
  if (!payload) return false;
  const account = await deps.accounts.findAccountById(payload.accountId!);
  // A link for an address the account no longer has confirms nothing.
  if (!account || account.email !== payload.email) return false;
  await deps.accounts.updateAccountById(account.id, { emailVerified: true, updatedAt: new Date() });
  await deps.audit.record({ type: 'email.verified', actor: accountActor(account), subject: account.id, ip: context.ip });
  return true;
}
