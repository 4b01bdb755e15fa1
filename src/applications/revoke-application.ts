import type { AuditEvent } from '../audit/audit-log.ts';
import type { ApplicationDeps } from './create-application.ts';
import { clientNotFound, requireLive } from './find-live-application.ts';

/**
 * Revokes the application: the provider no longer knows the client, so its keys stop working.
 * The key hashes are kept so that a caller holding a real key is told the application is disabled.
 */
export async function revokeApplication(
  deps: Pick<ApplicationDeps, 'applications' | 'audit' | 'revocations'>,
  clientId: string,
  actor: AuditEvent['actor'],
): Promise<{ clientId: string; revokedAt: Date }> {
  const now = new Date();
  const update = await deps.applications.updateApplication(clientId,
    (application) => ({ ...requireLive(application), revokedAt: now, updatedAt: now }));
  if (!update) throw clientNotFound();
  await deps.revocations.revoke('client', clientId);
  await deps.audit.record({ type: 'client.revoked', actor, subject: update.before.ownerId, clientId });
  return { clientId, revokedAt: now };
}
