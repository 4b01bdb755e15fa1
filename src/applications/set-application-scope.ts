import type { ApplicationRecord } from '../storage/contract.ts';
import type { AuditEvent } from '../audit/audit-log.ts';
import { AppError } from '../shared/app-error.ts';
import type { ApplicationDeps } from './create-application.ts';
import { checkApplicationScope } from './application-rules.ts';
import { findLiveApplication } from './rotate-client-secret.ts';

/**
 * Replaces what an application may ask for (its scope allow-list), checked as at creation: catalog
 * scopes only, API permissions only for a service. Permissions taken away stop at once, as for a
 * role taken away: resource servers drop the application's current tokens, and new ones lack them.
 */
export async function setApplicationScope(
  deps: Pick<ApplicationDeps, 'applications' | 'audit' | 'catalog' | 'revocations'>,
  clientId: string,
  scopeInput: string,
  actor: AuditEvent['actor'],
): Promise<ApplicationRecord> {
  // Unlike at creation, an empty list would not mean "the defaults": it is a mistake.
  if (!scopeInput.trim()) throw new AppError('scope_required', 'name at least one scope');
  for (;;) {
    const application = await findLiveApplication(deps, clientId);
    const scope = checkApplicationScope(deps.catalog, application.type, scopeInput);
    const now = new Date();
    const updated = { ...application, scope, updatedAt: now };
    if (!(await deps.applications.replaceApplication(updated, application.version))) continue;
    const kept = new Set(scope.split(' '));
    if (application.scope.split(' ').some((s) => s && !kept.has(s))) await deps.revocations.revoke('client', clientId);
    await deps.audit.record({
      type: 'client.scopes_changed', actor, subject: application.ownerId, clientId, details: { from: application.scope, to: scope },
    });
    return { ...updated, version: application.version + 1 };
  }
}
