import type { AccountRecord, ApplicationRecord } from '../storage/contract.ts';
import { accountActor } from '../audit/audit-log.ts';
import { AppError } from '../shared/app-error.ts';
import type { ApplicationDeps } from './create-application.ts';
import { clientNotFound, requireLive } from './find-live-application.ts';
import { checkDeveloperScope, scopeWords } from './developer-scope-rules.ts';
import { recordScopeChange } from './set-application-scope.ts';

/**
 * A developer changes the permissions of their own application on /developers. Held to their roles
 * like creation; a sensitive permission already approved stays approved, a new one waits. Someone
 * else's application answers as a missing one, so that client ids of others are not confirmed.
 */
export async function changeDeveloperApplicationScope(
  deps: Pick<ApplicationDeps, 'applications' | 'audit' | 'catalog' | 'revocations' | 'sensitiveScopes'>,
  developer: AccountRecord,
  clientId: string,
  scopeInput: string,
): Promise<ApplicationRecord> {
  if (!scopeInput.trim()) throw new AppError('scope_required', 'name at least one scope');
  const now = new Date();
  const update = await deps.applications.updateApplication(clientId, (application) => {
    if (requireLive(application).ownerId !== developer.id) throw clientNotFound();
    const checked = checkDeveloperScope(deps, developer, application.type, scopeInput, new Set(scopeWords(application.scope)));
    // The developer has seen any refusal and chosen again: a refused permission ticked again waits anew.
    return { ...application, ...checked, refusedScope: '', updatedAt: now };
  });
  if (!update) throw clientNotFound();
  const { before, after } = update;
  const actor = accountActor(developer);
  if (before.scope !== after.scope) await recordScopeChange(deps, update, actor);
  const wasPending = new Set(scopeWords(before.pendingScope));
  const requested = scopeWords(after.pendingScope).filter((s) => !wasPending.has(s));
  if (requested.length) {
    await deps.audit.record({ type: 'client.scopes_requested', actor, subject: developer.id, clientId, permissions: requested,
      details: { scopes: requested } });
  }
  return after;
}
