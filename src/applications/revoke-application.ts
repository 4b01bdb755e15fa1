import type { AccountRecord, ApplicationRecord, AuthorizationFilter } from '../storage/contract.ts';
import { accountActor, type AuditEvent } from '../audit/audit-log.ts';
import { recordRevokedGrants } from '../audit/grant-revocations.ts';
import { revokeGrant } from '../oidc/adapter.ts';
import type { ApplicationDeps } from './create-application.ts';
import { clientNotFound, requireLive } from './find-live-application.ts';

type EndDeps = Pick<ApplicationDeps, 'applications' | 'audit' | 'revocations' | 'grants'>;

/** Grants revoked per store round: each page is revoked and recorded before the next is read. */
const GRANT_BATCH = 100;

/**
 * Ends the application: the provider no longer knows the client, so its keys stop working, and the
 * revocation event makes resource servers drop its tokens. Then every grant people gave it is
 * revoked with its refresh tokens and codes (issue 10 item 4; the same end RFC 7009 §2.1 gives the
 * tokens of a grant whose refresh token is revoked), so nothing of it outlives it: no token to
 * introspect, no row on /account. The key hashes are kept so that a caller holding a real key is told the
 * application is disabled. `mayEnd` runs inside the compare-and-set, so the check and the change
 * are one store operation.
 */
async function endApplication(deps: EndDeps, clientId: string, actor: AuditEvent['actor'],
  type: 'client.revoked' | 'client.deleted', mayEnd: (application: ApplicationRecord) => boolean = () => true,
): Promise<{ clientId: string; revokedAt: Date; grantsRevoked: number }> {
  const ended = await deps.applications.findApplicationByClientId(clientId);
  if (ended?.revokedAt && mayEnd(ended)) {
    // Ended before, and its grants perhaps not all revoked (a store failing partway): asking again
    // finishes the revocation instead of answering "not found" with grants left behind.
    return { clientId, revokedAt: ended.revokedAt, grantsRevoked: await revokeApplicationGrants(deps, clientId, actor, type) };
  }
  const now = new Date();
  const update = await deps.applications.updateApplication(clientId, (application) => {
    if (!mayEnd(requireLive(application))) throw clientNotFound();
    return { ...application, revokedAt: now, updatedAt: now };
  });
  if (!update) throw clientNotFound();
  await deps.revocations.revoke('client', clientId);
  await deps.audit.record({ type, actor, subject: update.before.ownerId, clientId });
  const grantsRevoked = await revokeApplicationGrants(deps, clientId, actor, type);
  return { clientId, revokedAt: now, grantsRevoked };
}

/**
 * Revokes every grant of the client, page by page through the authorization index (which every
 * grant write keeps in step, src/oidc/authorization-index.ts), each with its tokens and codes and
 * its revocation published (revokeGrant), and one grant.revoked per grant (recordRevokedGrants).
 * The application is already unknown to the provider, so no new grant joins meanwhile.
 */
async function revokeApplicationGrants(deps: EndDeps, clientId: string, actor: AuditEvent['actor'], reason: string): Promise<number> {
  let after: AuthorizationFilter['after'];
  let revoked = 0;
  for (;;) {
    const batch = await deps.grants.authorizations.listAuthorizations({ clientId, ...(after ? { after } : {}) }, GRANT_BATCH);
    await Promise.all(batch.map((record) => revokeGrant(deps.grants, record.grantId)));
    await recordRevokedGrants(deps.audit, actor, batch, { reason });
    revoked += batch.length;
    if (batch.length < GRANT_BATCH) return revoked;
    const last = batch.at(-1)!;
    after = { createdAt: last.createdAt, grantId: last.grantId };
  }
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
