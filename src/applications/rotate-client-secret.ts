import type { ApplicationRecord, ClientSecretRecord } from '../storage/contract.ts';
import type { AuditEvent } from '../audit/audit-log.ts';
import { AppError } from '../shared/app-error.ts';
import { epochSeconds, type ApplicationDeps, type IssuedSecret } from './create-application.ts';
import { isSecretLive, secretEndsAt } from './check-client-secret.ts';
import { issueSecret } from './issue-secret.ts';
import { clientNotFound, requireLive } from './find-live-application.ts';

/** The developer picks the grace; a week is the most (issue 10, item 4), as a longer overlap defeats rotating. */
export const MAX_GRACE_SECONDS = 7 * 86_400;
/** Ended keys are kept this many at most, so a late caller still hears "replaced" or "expired". */
const MAX_ENDED_SECRETS = 5;

export interface RotateOptions {
  graceSeconds: number;
  /** The new key's lifetime instead of the configured default. */
  expiresInSeconds?: number | undefined;
  /** Rotated on /developers: the self-service default lifetime applies. */
  isSelfService?: boolean | undefined;
}

/**
 * Issues a new key. The newest key that still works (the previous one) keeps working for
 * `graceSeconds` (0: it stops at once; a key already in its grace keeps the grace it had) so a
 * service can roll the new one out; at most two keys are live, so any older live key ends now.
 */
export function rotateSecrets(application: ApplicationRecord, newSecret: ClientSecretRecord,
  graceSeconds: number, now: Date): ApplicationRecord {
  if (application.type === 'native') {
    throw new AppError('public_client', 'a native application is a public client and has no secret to rotate');
  }
  const graceEnd = new Date(now.getTime() + graceSeconds * 1000);
  const previous = previousLiveSecret(application, now);
  const secrets = application.secrets.map((s) => {
    if (!isSecretLive(s, now)) return s;
    if (s.id !== previous?.id) return { ...s, replacedAt: s.replacedAt ?? now, graceEndsAt: now };
    return s.replacedAt ? s : { ...s, replacedAt: now, graceEndsAt: graceEnd };
  });
  const live = secrets.filter((s) => isSecretLive(s, now));
  const ended = secrets.filter((s) => !isSecretLive(s, now)).slice(0, MAX_ENDED_SECRETS);
  return { ...application, secrets: [newSecret, ...live, ...ended], updatedAt: now };
}

/** Newest first: the first key that still works is the one a rotation keeps in its grace. */
const previousLiveSecret = (application: ApplicationRecord, now: Date) => application.secrets.find((s) => isSecretLive(s, now));

export async function rotateClientSecret(
  deps: ApplicationDeps,
  clientId: string,
  options: RotateOptions,
  actor: AuditEvent['actor'],
): Promise<IssuedSecret & { previousSecretId: string | null; previousSecretValidUntil: Date | null }> {
  const { graceSeconds } = options;
  if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_GRACE_SECONDS) {
    throw new AppError('invalid_grace', `the grace period is a whole number of seconds, from 0 to ${MAX_GRACE_SECONDS} (7 days)`);
  }
  const now = new Date();
  const issued = issueSecret(deps, now, { isSelfService: options.isSelfService ?? false, expiresInSeconds: options.expiresInSeconds });
  const update = await deps.applications.updateApplication(clientId,
    (application) => rotateSecrets(requireLive(application), issued.record, graceSeconds, now));
  if (!update) throw clientNotFound();
  const replaced = previousLiveSecret(update.before, now);
  const kept = replaced && update.after.secrets.find((s) => s.id === replaced.id);
  const previousSecretValidUntil = kept && isSecretLive(kept, now) ? secretEndsAt(kept) : null;
  const { ownerId } = update.before;
  await deps.audit.record({ type: 'client.secret_created', actor, subject: ownerId, clientId,
    details: { secretId: issued.record.id, expiresAt: issued.record.expiresAt?.toISOString() ?? null } });
  await deps.audit.record({
    type: 'client.secret_rotated', actor, subject: ownerId, clientId,
    details: { secretId: issued.record.id, previousSecretId: replaced?.id ?? null, graceSeconds,
      previousSecretValidUntil: previousSecretValidUntil?.toISOString() ?? null },
  });
  return {
    secretId: issued.record.id, clientSecret: issued.clientSecret, clientSecretExpiresAt: epochSeconds(issued.record.expiresAt),
    previousSecretId: replaced?.id ?? null, previousSecretValidUntil,
  };
}
