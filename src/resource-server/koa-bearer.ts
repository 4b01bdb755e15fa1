import type { Middleware } from 'koa';
import { InvalidTokenError, type VerifiedAccessToken } from './verify-access-token.ts';

export interface BearerOptions {
  realm?: string;
  /** How to tell a caller what would give a missing permission, e.g. which role (shown in the 403). */
  explainMissingScope?: (scope: string, token: VerifiedAccessToken | undefined) => string;
}

const quoted = (value: string) => `"${value.replace(/["\\]/g, '')}"`;

function challenge(realm: string, params: Record<string, string> = {}): string {
  return ['Bearer', [`realm=${quoted(realm)}`, ...Object.entries(params).map(([k, v]) => `${k}=${quoted(v)}`)].join(', ')].join(' ');
}

/**
 * RFC 6750 bearer authentication: no token → 401 with a bare challenge (§3.1); a bad, expired,
 * foreign or revoked token → 401 `invalid_token`. The verified token goes to ctx.state.accessToken.
 * Tokens are read from the Authorization header only (§2.3 query tokens are refused by design).
 */
export function bearerAuth(verify: (token: string) => Promise<VerifiedAccessToken>, options: BearerOptions = {}): Middleware {
  const realm = options.realm ?? 'TokenIM';
  return async (ctx, next) => {
    const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(ctx.get('Authorization'));
    if (!match) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', challenge(realm));
      ctx.body = { error: 'invalid_request', error_description: 'send an access token: Authorization: Bearer <token>' };
      return;
    }
    try {
      ctx.state.accessToken = await verify(match[1]!);
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      ctx.status = 401;
      ctx.set('WWW-Authenticate', challenge(realm, { error: 'invalid_token', error_description: error.message }));
      ctx.body = { error: 'invalid_token', error_description: error.message };
      return;
    }
    await next();
  };
}

/** 403 `insufficient_scope` naming the permission (RFC 6750 §3.1) unless the token carries it. */
export function requireScope(scope: string, options: BearerOptions = {}): Middleware {
  const realm = options.realm ?? 'TokenIM';
  return async (ctx, next) => {
    const token = ctx.state.accessToken as VerifiedAccessToken | undefined;
    if (!token?.scopes.has(scope)) {
      const explanation = options.explainMissingScope?.(scope, token);
      const description = `this needs the permission ${scope}${explanation ? `; ${explanation}` : ''}`;
      ctx.status = 403;
      ctx.set('WWW-Authenticate', challenge(realm, { error: 'insufficient_scope', scope, error_description: description }));
      ctx.body = { error: 'insufficient_scope', scope, error_description: description };
      return;
    }
    await next();
  };
}
