import type Provider from 'oidc-provider';
import type { AccountSessions } from './account-sessions.ts';
import { accountActor, type AuditLog } from '../audit/audit-log.ts';

/** What the consent prompt asked (oidc-provider's prompt details) and the person allowed. */
export interface ConsentDetails {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

export interface ConsentDeps {
  provider: Provider;
  grants: Pick<AccountSessions, 'findGrantId'>;
  audit: AuditLog;
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
export async function grantConsent(deps: ConsentDeps, consent: Consent): Promise<string | undefined> {
  const { accountId, clientId, details } = consent;
  const existingId = consent.grantId ?? await deps.grants.findGrantId(accountId, clientId);
  const grant = existingId ? await deps.provider.Grant.find(existingId) : new deps.provider.Grant({ accountId, clientId });
  if (!grant) return undefined;
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  // Issue 11 item 2: who obtained which permission when. A consent that added nothing (prompt=consent
  // on what the grant holds already) changed nothing and is not a ledger event.
  const permissions = [...(details.missingOIDCScope ?? []), ...Object.values(details.missingResourceScopes ?? {}).flat()];
  if (!existingId || permissions.length) {
    await deps.audit.record({ type: existingId ? 'grant.updated' : 'grant.created', actor: accountActor({ id: accountId }),
      subject: accountId, clientId, permissions, details: { grantId } });
  }
  return grantId;
}
