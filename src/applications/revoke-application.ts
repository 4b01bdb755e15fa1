import type { AccountRecord, ApplicationRecord } from '../storage/contract.ts';
import { accountActor, type AuditEvent } from '../audit/audit-log.ts';
import type { ApplicationDeps } from './create-application.ts';
import { clientNotFound, requireLive } from './find-live-application.ts';

type EndDeps = Pick<ApplicationDeps, 'applications' | 'audit' | 'revocations'>;

/**
 * Ends the application: the provider no longer knows the client, so its keys stop working, and the
 * revocation event makes resource servers drop its tokens. The key hashes are kept so that a
 * caller holding a real key is told the application is disabled. `mayEnd` runs inside the
 * compare-and-set, so the check and the change are one store operation.
 */
async function endApplication(deps: EndDeps, clientId: string, actor: AuditEvent['actor'],
  type: 'client.revoked' | 'client.deleted', mayEnd: (application: ApplicationRecord) => boolean = () => true,
): Promise<{ clientId: string; revokedAt: Date }> {
  const now = new Date();
  const update = await deps.applications.updateApplication(clientId, (application) => {
    if (!mayEnd(requireLive(application))) throw clientNotFound();
    return { ...application, revokedAt: now, updatedAt: now };
  });
  if (!update) throw clientNotFound();
  await deps.revocations.revoke('client', clientId);
  await deps.audit.record({ type, actor, subject: update.before.ownerId, clientId });
  return { clientId, revokedAt: now };
}

/** An operator revokes an application (`clients revoke`): the ledger says client.revoked. */
export function revokeApplication(deps: EndDeps, clientId: string, actor: AuditEvent['actor']) {
  return endApplication(deps, clientId, actor, 'client.revoked');
}

/**
 * A developer deletes their own application on /developers (issue 10 item 7: client.deleted, with
 * them as actor). Someone else's application answers as a missing one.
 */
export function deleteDeveloperApplication(deps: EndDeps, developer: Pick<AccountRecord, 'id'>, clientId: string) {
  return endApplication(deps, clientId, accountActor(developer), 'client.deleted', (a) => a.ownerId === developer.id);
}
