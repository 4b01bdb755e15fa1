import type { KoaContextWithOIDC } from 'oidc-provider';
import { FIRST_PARTY } from '../applications/client-metadata.ts';

/**
 * oidc-provider's loadExistingGrant, plus: first-party clients (the `--first-party` flag, and the
 * account pages) never ask for consent; their grant covers what they request (the documented way
 * to skip consent, oidc-provider docs "disabling default consent checks"). Other clients' grants
 * are remembered, so consent is asked once per new permission.
 */
export async function loadExistingGrant(ctx: KoaContextWithOIDC) {
  const { oidc } = ctx;
  const client = oidc.client!;
  const grantId = oidc.result?.consent?.grantId ?? oidc.session?.grantIdFor(client.clientId);
  const existing = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  if ((client as unknown as Record<string, unknown>)[FIRST_PARTY] !== true || !oidc.session?.accountId) return existing;
  const grant = existing ?? new oidc.provider.Grant({ clientId: client.clientId, accountId: oidc.session.accountId });
  grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(' '));
  for (const [indicator, resourceServer] of Object.entries(oidc.resourceServers ?? {})) {
    grant.addResourceScope(indicator, resourceServer.scope);
  }
  await grant.save();
  return grant;
}
