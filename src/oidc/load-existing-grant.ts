import type { Grant, KoaContextWithOIDC } from 'oidc-provider';
import type { SignInCheck } from './interaction-policy.ts';
import type { AdapterStores } from './adapter.ts';
import { findAccountGrantId } from './account-sessions.ts';
import { FIRST_PARTY } from '../applications/client-metadata.ts';

/**
 * oidc-provider's loadExistingGrant, with consent remembered per person and app instead of per
 * browser session: the grant is the one this interaction's consent just wrote, else the account's
 * grant for the client (findAccountGrantId), whichever session made it. The library then binds it
 * to this session (session.authorizations[clientId].grantId, which session-bound tokens are checked
 * against), so every session of the person shares one grant per app.
 */
export async function loadExistingGrant(ctx: KoaContextWithOIDC, signInSatisfies: SignInCheck, stores: AdapterStores) {
  const { oidc } = ctx;
  const accountId = oidc.session?.accountId;
  if (!accountId) return undefined;
  const client = oidc.client!;
  const grantId = oidc.result?.consent?.grantId ?? await findAccountGrantId(stores, accountId, client.clientId);
  const existing = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  const isFirstParty = (client as unknown as Record<string, unknown>)[FIRST_PARTY] === true;
  const grant = isFirstParty ? await firstPartyGrant(ctx, signInSatisfies, accountId, existing) : existing;
  if (grant) keepOnLogout(ctx, client.clientId);
  return grant;
}

/**
 * First-party clients (the `--first-party` flag, and the account pages) never ask for consent:
 * their grant covers what they request (oidc-provider docs "disabling default consent checks").
 * It is written only for a complete sign-in (the same decision as the mfa prompt's).
 */
async function firstPartyGrant(ctx: KoaContextWithOIDC, signInSatisfies: SignInCheck, accountId: string, existing: Grant | undefined) {
  const { oidc } = ctx;
  // Nothing is written for a sign-in that has not finished its factors: the mfa prompt comes first.
  if (!(await signInSatisfies(ctx, accountId, (oidc.session?.amr as string[] | undefined) ?? []))) return existing;
  const grant = existing ?? new oidc.provider.Grant({ clientId: oidc.client!.clientId, accountId });
  grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(' '));
  for (const [indicator, resourceServer] of Object.entries(oidc.resourceServers ?? {})) {
    grant.addResourceScope(indicator, resourceServer.scope);
  }
  await grant.save();
  return grant;
}

/**
 * Signing out of one browser must not revoke the grant the person's other sessions share:
 * oidc-provider's end_session revokes each grant of the session unless its authorization
 * `persistsLogout` (which it sets itself only for offline_access). The session's own codes and
 * session-bound tokens still end with it (token_helpers.js checkSessionBinding), and its JWT access
 * tokens through a `session` revocation of its `sid` (src/http/koa-sign-out-revocations.ts).
 */
function keepOnLogout(ctx: KoaContextWithOIDC, clientId: string): void {
  const session = ctx.oidc.session!;
  // What loadGrant does next anyway; before it, authorizationFor would hand back a detached object.
  session.ensureClientContainer(clientId);
  session.authorizationFor(clientId).persistsLogout = true;
}
