import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { ArtifactStore, AuthorizationStore } from '../storage/contract.ts';
import { createLastUseTracker, type LastUseTracker } from '../shared/last-use-tracker.ts';
import { ACCOUNT_CLIENT_ID } from './constants.ts';
import { grantScopes, type GrantPayload } from './grant-payload.ts';

/**
 * The store grants are kept in, with the admin console's authorization index kept in step: the
 * one place every grant write and removal passes (the adapter's Grant model, and revokeGrant), so
 * consent, re-consent, first-party grants, revocation from /account, from the console and by
 * oidc-provider itself (token revocation, refresh token reuse) all reach it. The grant is written
 * first and its row removed after it: a failure between leaves a row the next save or revocation
 * puts right, never a grant the console cannot see. The account pages' own sign-in grant is not an
 * authorization anyone reviews (it holds `openid` only) and is not indexed.
 */
export function withAuthorizationIndex(grants: ArtifactStore, authorizations: AuthorizationStore): ArtifactStore {
  return {
    find: (model, id) => grants.find(model, id),
    findByUid: (model, uid) => grants.findByUid(model, uid),
    findByUserCode: (model, userCode) => grants.findByUserCode(model, userCode),
    consume: (model, id) => grants.consume(model, id),
    listByAccountId: (model, accountId) => grants.listByAccountId(model, accountId),
    async upsert(model, id, payload, expiresInSeconds) {
      await grants.upsert(model, id, payload, expiresInSeconds);
      const grant = payload as GrantPayload;
      if (model !== 'Grant' || !grant.accountId || !grant.clientId || grant.clientId === ACCOUNT_CLIENT_ID) return;
      await authorizations.saveAuthorization({
        grantId: id, accountId: grant.accountId, clientId: grant.clientId, permissions: grantScopes(grant),
        createdAt: new Date((grant.iat ?? 0) * 1000),
        expiresAt: grant.exp ? new Date(grant.exp * 1000) : expiresInSeconds === undefined ? null : new Date(Date.now() + expiresInSeconds * 1000),
      });
    },
    async destroy(model, id) {
      const destroyed = await grants.destroy(model, id);
      if (model === 'Grant') await authorizations.deleteAuthorization(id);
      return destroyed;
    },
    async revokeByGrantId(model, grantId) {
      await grants.revokeByGrantId(model, grantId);
      if (model === 'Grant') await authorizations.deleteAuthorization(grantId);
    },
  };
}

/**
 * "Last used" of each authorization: when a token was last issued from its grant (authorization
 * code exchange or refresh; the token endpoint's grant.success names the grant it used), noted in
 * memory and written once a minute (src/shared/last-use-tracker.ts), off the token endpoint's path.
 */
export function trackGrantUse(provider: Provider, authorizations: Pick<AuthorizationStore, 'recordAuthorizationUse'>): LastUseTracker<string> {
  const tracker = createLastUseTracker<string>((grantId) => grantId, (grantId, at) => authorizations.recordAuthorizationUse(grantId, at));
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    const grantId = ctx.oidc.entities.Grant?.jti;
    if (grantId) tracker.noteUse(grantId, new Date());
  });
  return tracker;
}
