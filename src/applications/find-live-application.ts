import type { ApplicationRecord } from '../storage/contract.ts';
import { AppError } from '../shared/app-error.ts';

export const clientNotFound = () => new AppError('client_not_found', 'no active application has this client id', { status: 404 });

/**
 * The one decision on whether an application may be used now: not revoked (for good) and not
 * disabled by an administrator (reversible). The provider's Client model (client-metadata.ts) and
 * the secret check (check-client-secret.ts) both ask here: a client the provider does not know
 * gets invalid_client at the token endpoint (RFC 6749 §5.2) and in authorization requests.
 */
export const isApplicationUsable = (application: Pick<ApplicationRecord, 'revokedAt' | 'disabledAt'>): boolean =>
  !application.revokedAt && !application.disabledAt;

/** For use inside an ApplicationChange: a revoked application takes no further change (a disabled one does). */
export function requireLive(application: ApplicationRecord): ApplicationRecord {
  if (application.revokedAt) throw clientNotFound();
  return application;
}
