import type { AccountRecord, ApplicationRecord, ApplicationStore } from '../storage/contract.ts';
import { clientNotFound } from './find-live-application.ts';

/**
 * The developer's own live application, or `client_not_found` (404): someone else's application
 * answers exactly as a missing one, so client ids of others are never confirmed. Ownership never
 * changes on the self-service path, so checking it before a change is as good as inside it.
 */
export async function findDeveloperApplication(
  deps: { applications: ApplicationStore },
  developer: Pick<AccountRecord, 'id'>,
  clientId: string,
): Promise<ApplicationRecord> {
  const application = await deps.applications.findApplicationByClientId(clientId);
  if (!application || application.revokedAt || application.ownerId !== developer.id) throw clientNotFound();
  return application;
}

/** The developer's live applications, newest first. */
export async function listDeveloperApplications(
  deps: { applications: ApplicationStore },
  developer: Pick<AccountRecord, 'id'>,
): Promise<ApplicationRecord[]> {
  const owned = await deps.applications.listApplicationsByOwnerId(developer.id);
  return owned.filter((a) => !a.revokedAt).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
}
