import type { AuditEvent } from '../audit/audit-log.ts';
import { AppError } from '../shared/app-error.ts';
import type { ApplicationDeps } from './create-application.ts';
import { isSecretLive } from './check-client-secret.ts';
import { clientNotFound, requireLive } from './find-live-application.ts';

/**
 * "Revoke the old key now": ends a replaced key's grace at once. The current key cannot be
 * revoked this way (the application would be left without one): rotate with --grace 0 instead.
 */
export async function revokeClientSecret(
  deps: Pick<ApplicationDeps, 'applications' | 'audit'>,
  clientId: string,
  secretId: string,
  actor: AuditEvent['actor'],
): Promise<{ clientId: string; secretId: string; revokedAt: Date }> {
  const now = new Date();
  const update = await deps.applications.updateApplication(clientId, (application) => {
    const secret = requireLive(application).secrets.find((s) => s.id === secretId);
    if (!secret) throw new AppError('secret_not_found', 'this application has no key with this id', { status: 404 });
    if (!secret.replacedAt) {
      throw new AppError('secret_is_current', 'this is the current key: rotate the secret (--grace 0 ends this one at once)');
    }
    if (!isSecretLive(secret, now)) throw new AppError('secret_already_ended', 'this key no longer works');
    return { ...application, secrets: application.secrets.map((s) => (s.id === secretId ? { ...s, revokedAt: now } : s)), updatedAt: now };
  });
  if (!update) throw clientNotFound();
  await deps.audit.record({ type: 'client.secret_revoked', actor, subject: update.before.ownerId, clientId, details: { secretId } });
  return { clientId, secretId, revokedAt: now };
}
