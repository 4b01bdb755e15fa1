import type { ApplicationRecord } from '../storage/contract.ts';
import type { AuditEvent } from '../audit/audit-log.ts';
import { AppError } from '../shared/app-error.ts';
import type { ApplicationDeps } from './create-application.ts';
import { clientNotFound, requireLive } from './find-live-application.ts';

/** Far above what one client's token endpoint use can reasonably be (a million a minute). */
export const MAX_TOKEN_RATE_LIMIT = 1_000_000;

/**
 * An administrator sets how many token requests per minute the application may make (0: no limit),
 * or with null gives it back the default of its type. It holds from the next request on, at every
 * instance: the limit is read with the application on each token request.
 */
export async function setApplicationRateLimit(deps: Pick<ApplicationDeps, 'applications' | 'audit'>, clientId: string,
  perMinute: number | null, actor: AuditEvent['actor']): Promise<ApplicationRecord> {
  if (perMinute !== null && (!Number.isInteger(perMinute) || perMinute < 0 || perMinute > MAX_TOKEN_RATE_LIMIT)) {
    throw new AppError('invalid_rate_limit', `the limit must be a whole number from 0 to ${MAX_TOKEN_RATE_LIMIT}`, { status: 400 });
  }
  const update = await deps.applications.updateApplication(clientId, (application) =>
    (requireLive(application).tokenRateLimitPerMinute === perMinute ? application
      : { ...application, tokenRateLimitPerMinute: perMinute, updatedAt: new Date() }));
  if (!update) throw clientNotFound();
  if (update.before.tokenRateLimitPerMinute !== perMinute) {
    await deps.audit.record({ type: 'client.updated', actor, subject: update.after.ownerId, clientId,
      details: { tokenRateLimitPerMinute: { from: update.before.tokenRateLimitPerMinute, to: perMinute } } });
  }
  return update.after;
}
