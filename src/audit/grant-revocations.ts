import type { AuditEvent, AuditLog } from './audit-log.ts';

/** A grant that was revoked: whose, which application's, and what it held. */
export interface RevokedGrant {
  grantId: string;
  accountId: string | null;
  clientId: string | null;
  permissions: readonly string[];
}

/**
 * The one way `grant.revoked` is written, whoever revoked (the person on /account, an admin, a
 * password change or reset, a disabled account, the client itself at the revocation endpoint, a
 * reused refresh token): one event per grant with the permissions it held, so the ledger answers
 * "who lost calls:read, when, by whom".
 */
export async function recordRevokedGrants(audit: AuditLog, actor: AuditEvent['actor'], grants: readonly RevokedGrant[],
  details: Record<string, unknown> = {}): Promise<void> {
  for (const grant of grants) {
    await audit.record({ type: 'grant.revoked', actor, subject: grant.accountId, clientId: grant.clientId, permissions: grant.permissions,
      details: { grantId: grant.grantId, ...details } });
  }
}
