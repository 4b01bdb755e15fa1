import type { ApplicationRecord, ApplicationUpdate } from '../storage/contract.ts';
import type { AuditEvent } from '../audit/audit-log.ts';
import { AppError } from '../shared/app-error.ts';
import type { ApplicationDeps } from './create-application.ts';
import { checkApplicationScope } from './application-rules.ts';
import { clientNotFound, requireLive } from './find-live-application.ts';
import { scopeWords } from './developer-scope-rules.ts';

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
    // What the administrator grants here no longer waits for their approval, nor stands refused.
    const granted = new Set(scope.split(' '));
    const notGranted = (list: string) => list.split(' ').filter((s) => s && !granted.has(s)).join(' ');
    return { ...application, scope, pendingScope: notGranted(application.pendingScope), refusedScope: notGranted(application.refusedScope),
      updatedAt: now };
  });
  if (!update) throw clientNotFound();
  await recordScopeChange(deps, update, actor);
  return update.after;
}

/**
 * After an allow-list changed: tokens of permissions taken away die now (the `client` revocation
 * event drops every token of the application at resource servers: a JWT access token cannot be
 * narrowed, and new ones lack the permission); the ledger says what changed, the permissions
 * added and taken away in `permissions`.
 */
export async function recordScopeChange(
  deps: Pick<ApplicationDeps, 'audit' | 'revocations'>,
  { before, after }: ApplicationUpdate,
  actor: AuditEvent['actor'],
): Promise<void> {
  const [was, is] = [new Set(scopeWords(before.scope)), new Set(scopeWords(after.scope))];
  const removed = [...was].filter((s) => !is.has(s));
  const added = [...is].filter((s) => !was.has(s));
  if (removed.length) await deps.revocations.revoke('client', after.clientId);
  await deps.audit.record({
    type: 'client.scopes_changed', actor, subject: before.ownerId, clientId: after.clientId, permissions: [...added, ...removed],
    details: { from: before.scope, to: after.scope },
  });
}
