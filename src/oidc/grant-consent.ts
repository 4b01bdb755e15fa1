import type Provider from 'oidc-provider';
import type { AccountSessions } from './account-sessions.ts';

/** What the consent prompt asked (oidc-provider's prompt details) and the person allowed. */
export interface ConsentDetails {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

export interface Consent {
  accountId: string;
  clientId: string;
  /** The grant the interaction was started with (the account's for this client at the time), if any. */
  grantId: string | undefined;
  details: ConsentDetails;
}

/**
 * Adds what the person just allowed to their grant for this app: the interaction's, else the one
 * the account has for the client by now (another session may have consented since this page was
 * shown: it joins that one, so one grant per person and app), else a new one. Returns its id, or
 * undefined when the interaction's grant was revoked meanwhile (the request must start again:
 * what it asked was measured against that grant).
 */
export async function grantConsent(provider: Provider, grants: Pick<AccountSessions, 'findGrantId'>, consent: Consent) {
  const { accountId, clientId, details } = consent;
  const grantId = consent.grantId ?? await grants.findGrantId(accountId, clientId);
  const grant = grantId ? await provider.Grant.find(grantId) : new provider.Grant({ accountId, clientId });
  if (!grant) return undefined;
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return grant.save();
}
