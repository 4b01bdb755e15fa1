import type { Middleware } from 'koa';
import Tokens from 'csrf';
import { AppError } from '../shared/app-error.ts';

const tokens = new Tokens();
export const CSRF_COOKIE = 'tokenim_csrf';
export const CSRF_FIELD = '_csrf';

/**
 * Synchronizer tokens (OWASP CSRF cheat sheet): a per-browser secret in a signed, httpOnly,
 * SameSite=Lax cookie, and a token derived from it in every form we serve. A POST whose token does
 * not match the cookie's secret (a forged cross-site post carries no cookie at all) gets 403 and
 * changes nothing. Runs after the body parser.
 */
export function csrfProtection(): Middleware {
  return async (ctx, next) => {
    let secret = ctx.cookies.get(CSRF_COOKIE, { signed: true });
    if (ctx.method === 'POST') {
      const body = ctx.request.body as Record<string, unknown> | undefined;
      const token = body?.[CSRF_FIELD];
      if (!secret || typeof token !== 'string' || !tokens.verify(secret, token)) {
        throw new AppError('csrf', 'this form has expired or did not come from this site; reload the page and try again', { status: 403 });
      }
    }
    if (!secret) {
      secret = tokens.secretSync();
      ctx.cookies.set(CSRF_COOKIE, secret, { signed: true, httpOnly: true, sameSite: 'lax', secure: ctx.secure, path: '/' });
    }
    ctx.state.csrfToken = tokens.create(secret);
    await next();
  };
}
