import type { ApplicationRecord } from '../storage/contract.ts';
import type { AuditEvent } from '../audit/audit-log.ts';
import type { ApplicationDeps } from './create-application.ts';
import { clientNotFound, requireLive } from './find-live-application.ts';
import { scopeWords } from './developer-scope-rules.ts';

type EnableDeps = Pick<ApplicationDeps, 'applications' | 'audit' | 'revocations'>;

/**
 * An administrator switches an application off, reversibly (Keycloak's client "Enabled" switch).
 * From the write on, the provider no longer knows the client (isApplicationUsable): its keys, its
 * refresh tokens and its authorization requests get invalid_client. The `client` revocation event
 * makes resource servers drop the access tokens it already holds (RFC 7009 §2: revocation is
 * prompt; our JWT access tokens cannot be recalled otherwise). Grants and refresh tokens are kept,
 * so that enabling it again lets people's sessions with it go on. The switch is recorded once;
 * disabling a disabled one publishes the revocation again (harmless), so that a retry completes
 * what a failure halfway left undone.
 */
export async function disableApplication(deps: EnableDeps, clientId: string, actor: AuditEvent['actor']): Promise<ApplicationRecord> {
  const update = await switchApplication(deps, clientId, new Date());
  if (!update.before.disabledAt) {
    await deps.audit.record({ type: 'client.disabled', actor, subject: update.after.ownerId, clientId,
      permissions: scopeWords(update.after.scope) });
  }
  await deps.revocations.revoke('client', clientId);
  return update.after;
}

/** Switches it on again: new tokens can be issued (the ones revoked while it was off stay revoked). */
export async function enableApplication(deps: EnableDeps, clientId: string, actor: AuditEvent['actor']): Promise<ApplicationRecord> {
  const update = await switchApplication(deps, clientId, null);
  if (!update.before.disabledAt) return update.after;
  await deps.audit.record({ type: 'client.enabled', actor, subject: update.after.ownerId, clientId,
    permissions: scopeWords(update.after.scope) });
  return update.after;
}

async function switchApplication(deps: EnableDeps, clientId: string, disabledAt: Date | null) {
  const update = await deps.applications.updateApplication(clientId, (application) => {
    // Already in that state: the record is written back as it is (no second event, no new date).
    if (Boolean(requireLive(application).disabledAt) === Boolean(disabledAt)) return application;
    return { ...application, disabledAt, updatedAt: disabledAt ?? new Date() };
  });
  if (!update) throw clientNotFound();
  return update;
}
