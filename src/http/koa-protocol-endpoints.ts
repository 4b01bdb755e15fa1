import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import { HSTS, PAGE_CSP } from './koa-security-headers.ts';

/**
 * The provider's endpoints for programs, by its route names (lib/helpers/initialize_app.js), and
 * whether their responses carry credentials or token data and so must not be stored: RFC 6749
 * §5.1 (token), RFC 7662 §2.2 (introspection), RFC 7009 (revocation), OIDC Core §5.3 (UserInfo),
 * RFC 9126 §2.2 (pushed authorization requests). JWKS and discovery are public and cacheable.
 */
const PROTOCOL_ROUTES: Record<string, boolean> = {
  token: true, introspection: true, revocation: true, userinfo: true, pushed_authorization_request: true,
  jwks: false, discovery: false,
};

/**
 * The route `discovery` has two paths: RFC 8414 §3's, which pathFor gives, and this one, which
 * OpenID Connect Discovery 1.0 §4 fixes (the provider serves both; neither can be configured).
 */
const OPENID_CONFIGURATION = '/.well-known/openid-configuration';

/** Path → whether its responses must not be stored; paths as the provider sees them mounted at the root. */
export function protocolPaths(provider: Provider): Map<string, boolean> {
  const paths = new Map<string, boolean>();
  for (const [name, isNoStore] of Object.entries(PROTOCOL_ROUTES)) {
    try {
      paths.set(provider.pathFor(name, { mountPath: '' }), isNoStore);
    } catch {
      // A route of a feature that is off (the provider has no path for it).
    }
  }
  paths.set(OPENID_CONFIGURATION, false);
  return paths;
}

/**
 * Requests to the protocol endpoints go to `handle` (the provider) at once, past the page stack
 * (helmet, CSRF, languages, routers), with what they need set here, statically: nosniff (JSON is
 * never sniffed as HTML), no-store where they answer with tokens, HSTS over https, and the page CSP
 * for the HTML error page the provider renders to a browser (renderError), which also forbids
 * framing it. Other requests, and paths the provider would match only in another spelling (it
 * ignores case and a trailing slash), go on to the page stack, which ends in the provider too.
 */
export function protocolEndpoints(provider: Provider, handle: Middleware): Middleware {
  const paths = protocolPaths(provider);
  return (ctx, next) => {
    const isNoStore = paths.get(ctx.path);
    if (isNoStore === undefined) return next();
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Content-Security-Policy', PAGE_CSP);
    if (isNoStore) ctx.set('Cache-Control', 'no-store');
    if (ctx.secure) ctx.set('Strict-Transport-Security', HSTS);
    return handle(ctx, next);
  };
}
