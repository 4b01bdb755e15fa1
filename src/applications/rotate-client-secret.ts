import type { ApplicationRecord } from '../storage/contract.ts';
import type { AuditEvent } from '../audit/audit-log.ts';
import { AppError } from '../shared/app-error.ts';
import { generateClientSecret, hashClientSecret, isSecretLive } from './client-secret.ts';
import { epochSeconds, secretExpiry, type ApplicationDeps, type IssuedSecret } from './create-application.ts';

// Hydra keeps one active and five rotated secrets; older ones are dropped at the next rotation.
const MAX_PREVIOUS_SECRETS = 5;

export async function findLiveApplication(deps: Pick<ApplicationDeps, 'applications'>, clientId: string): Promise<ApplicationRecord> {
  const application = await deps.applications.findApplicationByClientId(clientId);
  if (!application || application.revokedAt) {
    throw new AppError('client_not_found', 'no active application has this client id', { status: 404 });
  }
  return application;
}

/**
 * Issues a new secret. The previous ones keep working for `graceSeconds` (0: they stop at once),
 * so a service can roll the new key out before the old one dies.
 */
export async function rotateClientSecret(
  deps: ApplicationDeps,
  clientId: string,
  graceSeconds: number,
  actor: AuditEvent['actor'],
): Promise<IssuedSecret & { previousSecretValidUntil: Date | null }> {
  if (!Number.isInteger(graceSeconds) || graceSeconds < 0) {
    throw new AppError('invalid_grace', 'the grace period is a whole number of seconds, 0 or more');
  }
  for (;;) {
    const application = await findLiveApplication(deps, clientId);
    if (application.type === 'native') {
      throw new AppError('public_client', 'a native application is a public client and has no secret to rotate');
    }
    const now = new Date();
    const graceEnd = new Date(now.getTime() + graceSeconds * 1000);
    const previous = application.secrets
      .map((s) => ({ ...s, expiresAt: s.expiresAt !== null && s.expiresAt < graceEnd ? s.expiresAt : graceEnd }))
      .filter((s) => isSecretLive(s, now))
      .slice(0, MAX_PREVIOUS_SECRETS);
    const clientSecret = generateClientSecret();
    const expiresAt = secretExpiry(deps, now);
    const next: ApplicationRecord = {
      ...application,
      secrets: [{ hash: hashClientSecret(deps.secretHashKey, clientSecret), createdAt: now, expiresAt }, ...previous],
      updatedAt: now,
    };
    // Compare-and-set: a concurrent rotation makes this one start over from what that one stored.
    if (!(await deps.applications.replaceApplication(next, application.version))) continue;
    const previousSecretValidUntil = previous.length ? graceEnd : null;
    await deps.audit.record({
      type: 'client.secret_rotated', actor, subject: application.ownerId, clientId,
      details: { graceSeconds, previousSecretValidUntil: previousSecretValidUntil?.toISOString() ?? null },
    });
    return { clientSecret, clientSecretExpiresAt: epochSeconds(expiresAt), previousSecretValidUntil };
  }
}
