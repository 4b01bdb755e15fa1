import type { ApplicationRecord } from '../storage/contract.ts';
import type { AuditEvent } from '../audit/audit-log.ts';
import type { ApplicationDeps } from './create-application.ts';
import { clientNotFound } from './find-live-application.ts';
import { scopeWords } from './developer-scope-rules.ts';
import { requestedDecision, stillPending } from './approve-application-scopes.ts';

/**
 * An administrator refuses sensitive permissions a developer asked for: they leave the pending
 * list without reaching the allow-list, so no token ever carries them, and the developer sees on
 * /developers that they were refused (until they next change the permissions, which may ask again).
 */
export async function refuseApplicationScopes(
  deps: Pick<ApplicationDeps, 'applications' | 'audit'>,
  clientId: string,
  scopeInput: string,
  actor: AuditEvent['actor'],
): Promise<ApplicationRecord> {
  const refusing = requestedDecision(scopeInput);
  const now = new Date();
  const update = await deps.applications.updateApplication(clientId, (application) => ({
    ...application,
    pendingScope: stillPending(application, refusing),
    refusedScope: [...new Set([...scopeWords(application.refusedScope), ...refusing])].join(' '),
    updatedAt: now,
  }));
  if (!update) throw clientNotFound();
  await deps.audit.record({ type: 'client.scopes_refused', actor, subject: update.after.ownerId, clientId, permissions: refusing,
    details: { scopes: refusing } });
  return update.after;
}
