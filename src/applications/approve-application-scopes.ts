import type { ApplicationRecord } from '../storage/contract.ts';
import type { AuditEvent } from '../audit/audit-log.ts';
import { AppError } from '../shared/app-error.ts';
import type { ApplicationDeps } from './create-application.ts';
import { clientNotFound, requireLive } from './find-live-application.ts';
import { scopeWords } from './developer-scope-rules.ts';

/**
 * An administrator approves sensitive permissions a developer asked for: they move from the
 * application's pending list into its allow-list, and its next tokens carry them. Only pending
 * ones: anything else is an administrator's grant (`clients set-scopes`), which the ledger must
 * not record as an approval of a request nobody made.
 */
export async function approveApplicationScopes(
  deps: Pick<ApplicationDeps, 'applications' | 'audit'>,
  clientId: string,
  scopeInput: string,
  actor: AuditEvent['actor'],
): Promise<ApplicationRecord> {
  const approving = requestedDecision(scopeInput);
  const now = new Date();
  const update = await deps.applications.updateApplication(clientId, (application) => ({
    ...application,
    scope: [...scopeWords(application.scope), ...approving].join(' '),
    pendingScope: stillPending(application, approving),
    updatedAt: now,
  }));
  if (!update) throw clientNotFound();
  await deps.audit.record({ type: 'client.scopes_approved', actor, subject: update.after.ownerId, clientId, permissions: approving,
    details: { scopes: approving, scope: update.after.scope } });
  return update.after;
}

/** The scopes an administrator decides on (approve or refuse): at least one. */
export function requestedDecision(scopeInput: string): string[] {
  const scopes = [...new Set(scopeWords(scopeInput))];
  if (!scopes.length) throw new AppError('scope_required', 'name at least one scope');
  return scopes;
}

/**
 * For use inside an ApplicationChange: the pending list without `deciding`, refused (409) unless
 * every one of them is waiting, so that an approval or a refusal is always of a request made.
 */
export function stillPending(application: ApplicationRecord, deciding: readonly string[]): string {
  const pending = scopeWords(requireLive(application).pendingScope);
  const notPending = deciding.filter((s) => !pending.includes(s));
  if (notPending.length) {
    throw new AppError('scope_not_pending',
      `not waiting for approval: ${notPending.join(', ')}; this application waits for ${pending.join(', ') || 'nothing'}`,
      { status: 409, params: { scope: notPending.join(' ') } });
  }
  return pending.filter((s) => !deciding.includes(s)).join(' ');
}
