import type { ApplicationRecord, ApplicationUpdate } from '../storage/contract.ts';
import type { AuditEvent } from '../audit/audit-log.ts';
import { AppError } from '../shared/app-error.ts';
import type { ApplicationDeps } from './create-application.ts';
import { checkApplicationScope } from './application-rules.ts';
import { clientNotFound, requireLive } from './find-live-application.ts';

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
  const now = new Date();
  const update = await deps.applications.updateApplication(clientId, (application) => {
    const scope = checkApplicationScope(deps.catalog, requireLive(application).type, scopeInput);
    // What the administrator grants here no longer waits for their approval.
    const granted = new Set(scope.split(' '));
    const pendingScope = application.pendingScope.split(' ').filter((s) => s && !granted.has(s)).join(' ');
    return { ...application, scope, pendingScope, updatedAt: now };
  });
  if (!update) throw clientNotFound();
  await recordScopeChange(deps, update, actor);
  return update.after;
}

/** After an allow-list changed: tokens of permissions taken away die now (revocation event); the ledger says what changed. */
export async function recordScopeChange(
  deps: Pick<ApplicationDeps, 'audit' | 'revocations'>,
  { before, after }: ApplicationUpdate,
  actor: AuditEvent['actor'],
): Promise<void> {
  const kept = new Set(after.scope.split(' '));
  if (before.scope.split(' ').some((s) => s && !kept.has(s))) await deps.revocations.revoke('client', after.clientId);
  await deps.audit.record({
    type: 'client.scopes_changed', actor, subject: before.ownerId, clientId: after.clientId, details: { from: before.scope, to: after.scope },
  });
}
