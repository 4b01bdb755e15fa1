import type { KoaContextWithOIDC } from 'oidc-provider';
import type { SignInCheck } from './interaction-policy.ts';
import { FIRST_PARTY } from '../applications/client-metadata.ts';

/**
 * oidc-provider's loadExistingGrant, plus: first-party clients (the `--first-party` flag, and the
 * account pages) never ask for consent; their grant covers what they request (the documented way
 * to skip consent, oidc-provider docs "disabling default consent checks"). Other clients' grants
 * are remembered, so consent is asked once per new permission. The first-party grant is made only
 * for a complete sign-in (the same decision as the mfa prompt's).
 */
export async function loadExistingGrant(ctx: KoaContextWithOIDC, signInSatisfies: SignInCheck) {
  const { oidc } = ctx;
  const client = oidc.client!;
  const grantId = oidc.result?.consent?.grantId ?? oidc.session?.grantIdFor(client.clientId);
  const existing = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  const { accountId, amr } = oidc.session ?? {};
  if ((client as unknown as Record<string, unknown>)[FIRST_PARTY] !== true || !accountId) return existing;
  // Nothing is written for a sign-in that has not finished its factors: the mfa prompt comes first.
  if (!(await signInSatisfies(ctx, accountId, (amr as string[] | undefined) ?? []))) return existing;
  const grant = existing ?? new oidc.provider.Grant({ clientId: client.clientId, accountId });
  grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(' '));
  for (const [indicator, resourceServer] of Object.entries(oidc.resourceServers ?? {})) {
    grant.addResourceScope(indicator, resourceServer.scope);
  }
  await grant.save();
  return grant;
}
