import type { AuditEvent } from '../audit/audit-log.ts';
import type { ApplicationDeps } from './create-application.ts';
import { findLiveApplication } from './rotate-client-secret.ts';

/** Revokes the application: its secrets stop working and the provider no longer knows the client. */
export async function revokeApplication(
  deps: Pick<ApplicationDeps, 'applications' | 'audit' | 'revocations'>,
  clientId: string,
  actor: AuditEvent['actor'],
): Promise<{ clientId: string; revokedAt: Date }> {
  for (;;) {
    const application = await findLiveApplication(deps, clientId);
    const now = new Date();
    const revoked = { ...application, secrets: [], revokedAt: now, updatedAt: now };
    if (!(await deps.applications.replaceApplication(revoked, application.version))) continue;
    await deps.revocations.revoke('client', clientId);
    await deps.audit.record({ type: 'client.revoked', actor, subject: application.ownerId, clientId });
    return { clientId, revokedAt: now };
  }
}
