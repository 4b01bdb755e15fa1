import type { ApplicationRecord } from '../storage/contract.ts';
import { AppError } from '../shared/app-error.ts';

export const clientNotFound = () => new AppError('client_not_found', 'no active application has this client id', { status: 404 });

/** For use inside an ApplicationChange: a revoked application takes no further change. */
export function requireLive(application: ApplicationRecord): ApplicationRecord {
  if (application.revokedAt) throw clientNotFound();
  return application;
}
