import type { Middleware } from 'koa';
import helmet from 'koa-helmet';

/**
 * CSP for the pages we render (ASVS 5 3.4.3): nothing loads from elsewhere, no scripts, and no
 * framing (RFC 9700 §4.16 clickjacking). form-action is left out: after a form post the browser
 * must follow the 303 to the application's redirect URI, which form-action would block.
 */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";

/**
 * The provider's routes: the same policy plus a script-src with no sources, to which oidc-provider
 * adds the sha256 of each inline script it renders itself (form_post responses and the logout
 * auto-submit: lib/helpers/script_src_sha.js), so that exactly those scripts run and nothing else.
 */
export const PROVIDER_CSP = `${PAGE_CSP}; script-src`;

/** Set before the provider runs: its HTML pages (and ours it renders: logout, errors) get PROVIDER_CSP. */
export const providerPageSecurity = (): Middleware => async (ctx, next) => {
  ctx.set('Content-Security-Policy', PROVIDER_CSP);
  await next();
};

/** RFC 6797: browsers keep to https for a year, subdomains included. Sent over https only (§7.2). */
export const HSTS = 'max-age=31536000; includeSubDomains';

/**
 * Headers on every page and front-channel response: nosniff, no framing, no referrer (codes and state never leak in
 * Referer), same-origin opener; HSTS only over https. The provider's own pages (form_post,
 * logout auto-submit) need their inline scripts, so the strict CSP is set per page, not here.
 */
export function securityHeaders(): Middleware {
  const headers = helmet({
    contentSecurityPolicy: false,
    strictTransportSecurity: false,
    referrerPolicy: { policy: 'no-referrer' },
    frameguard: { action: 'deny' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: false,
  });
  return async (ctx, next) => {
    if (ctx.secure) ctx.set('Strict-Transport-Security', HSTS);
    await headers(ctx, next);
  };
}
