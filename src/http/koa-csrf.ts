import type { Context, Middleware } from 'koa';
import Tokens from 'csrf';
import { AppError } from '../shared/app-error.ts';
import { hostCookieName } from '../shared/cookie-names.ts';

const tokens = new Tokens();
export const CSRF_COOKIE = 'tokenim_csrf';
export const CSRF_FIELD = '_csrf';

/**
 * Defence in depth beside the token (OWASP CSRF cheat sheet, "Fetch Metadata" and "Verifying
 * Origin"): a browser says where a form post comes from. Sec-Fetch-Site (every current browser)
 * must be same-origin, or none (typed or bookmarked); without it, an Origin header must be ours.
 * `Origin: null` is what browsers send under our `Referrer-Policy: no-referrer`, so it proves
 * nothing either way and the token decides.
 */
function isCrossSite(ctx: Context): boolean {
  const site = ctx.get('Sec-Fetch-Site');
  if (site) return site !== 'same-origin' && site !== 'none';
  const origin = ctx.get('Origin');
  // The origin this request was sent to (X-Forwarded-Proto/Host honoured only with TRUST_PROXY).
  return origin !== '' && origin !== 'null' && origin !== `${ctx.protocol}://${ctx.host}`;
}

/**
 * Synchronizer tokens (OWASP CSRF cheat sheet): a per-browser secret in a signed, httpOnly,
 * SameSite=Lax cookie, and a token derived from it in every form we serve. A POST whose token does
 * not match the cookie's secret (a forged cross-site post carries no cookie at all) gets 403 and
 * changes nothing. Runs after the body parser.
 */
export function csrfProtection(): Middleware {
  return async (ctx, next) => {
    const cookie = hostCookieName(CSRF_COOKIE, ctx.secure);
    let secret = ctx.cookies.get(cookie, { signed: true });
    if (ctx.method === 'POST' && isCrossSite(ctx)) {
      throw new AppError('csrf', 'this form did not come from this site; reload the page and try again', { status: 403 });
    }
    if (ctx.method === 'POST') {
      const body = ctx.request.body as Record<string, unknown> | undefined;
      const token = body?.[CSRF_FIELD];
      if (!secret || typeof token !== 'string' || !tokens.verify(secret, token)) {
        throw new AppError('csrf', 'this form has expired or did not come from this site; reload the page and try again', { status: 403 });
      }
    }
    if (!secret) {
      secret = tokens.secretSync();
      ctx.cookies.set(cookie, secret, { signed: true, httpOnly: true, sameSite: 'lax', secure: ctx.secure, path: '/' });
    }
    ctx.state.csrfToken = tokens.create(secret);
    await next();
  };
}
