import { errors, type Client, type KoaContextWithOIDC } from 'oidc-provider';
import type { AnswerRewrite } from './around-provider-routes.ts';

// unauthorized_client, in the two places RFC 6749 and RFC 7009 use it and Keycloak answers it:
// a grant type the client is not registered for, and revoking a token of another client.

/**
 * The revocation endpoint's allowedPolicy. RFC 7009 §2.1: when the token was issued to another
 * client, "the authorization server ... refuses the request and informs the client of the error";
 * a policy returning false would make oidc-provider answer 200 as if the token were revoked
 * (lib/actions/revocation.js), so it throws, and the token stays active.
 */
export function allowOwnTokensOnly(_ctx: KoaContextWithOIDC, client: Client, token: { clientId?: string | undefined }): boolean {
  if (token.clientId !== client.clientId) throw new errors.UnauthorizedClient('this token was not issued to this client');
  return true;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/**
 * RFC 6749 §5.2: a client asking for a grant type it is not registered for gets
 * `unauthorized_client`. oidc-provider answers `invalid_request` there (lib/actions/token.js
 * allowedGrantTypeCheck, with no hook), so this rewrite of the token route's answer
 * (around-provider-routes.ts) changes it: an authenticated client, one grant_type, not among its grant types.
 */
export const answerUnregisteredGrantType: AnswerRewrite = (ctx) => {
  const { oidc } = ctx;
  if (ctx.status !== 400 || !isObject(ctx.body) || ctx.body.error !== 'invalid_request') return;
  const grantType = oidc.params?.grant_type;
  const client = oidc.client;
  if (!client || typeof grantType !== 'string' || client.grantTypeAllowed(grantType)) return;
  ctx.body = {
    error: 'unauthorized_client',
    error_description: `this client is not registered for grant_type=${grantType}; it may use ${client.grantTypes?.join(', ')}`,
  };
};
