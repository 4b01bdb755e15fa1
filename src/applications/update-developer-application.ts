import type { AccountRecord, ApplicationRecord } from '../storage/contract.ts';
import { accountActor } from '../audit/audit-log.ts';
import type { ApplicationDeps } from './create-application.ts';
import { clientNotFound, requireLive } from './find-live-application.ts';
import { checkApplicationName, checkPostLogoutRedirectUris, checkRedirectUris } from './application-rules.ts';

/** What a developer may edit on their application's page besides permissions (changeDeveloperApplicationScope). */
export interface DeveloperApplicationChange {
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
}

const EDITABLE = ['name', 'redirectUris', 'postLogoutRedirectUris'] as const;

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * A developer edits their own application: held to the rules of creation (RFC 9700 §2.1 and
 * RFC 8252 for redirect URIs, RP-Initiated Logout 1.0 §3 for post-logout ones) against the type it
 * has, in one compare-and-set, so a concurrent change is never overwritten with stale fields.
 * Someone else's application answers as a missing one. The ledger says what changed, old and new.
 */
export async function updateDeveloperApplication(
  deps: Pick<ApplicationDeps, 'applications' | 'audit'>,
  developer: AccountRecord,
  clientId: string,
  change: DeveloperApplicationChange,
): Promise<ApplicationRecord> {
  const now = new Date();
  const update = await deps.applications.updateApplication(clientId, (application) => {
    if (requireLive(application).ownerId !== developer.id) throw clientNotFound();
    return {
      ...application,
      name: checkApplicationName(change.name),
      redirectUris: checkRedirectUris(application.type, change.redirectUris),
      postLogoutRedirectUris: checkPostLogoutRedirectUris(application.type, change.postLogoutRedirectUris),
      updatedAt: now,
    };
  });
  if (!update) throw clientNotFound();
  const { before, after } = update;
  const changes = Object.fromEntries(EDITABLE
    .filter((key) => (key === 'name' ? before.name !== after.name : !sameList(before[key], after[key])))
    .map((key) => [key, { from: before[key], to: after[key] }]));
  if (Object.keys(changes).length) {
    await deps.audit.record({ type: 'client.updated', actor: accountActor(developer), subject: developer.id, clientId, details: changes });
  }
  return after;
}
