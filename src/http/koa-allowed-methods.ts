import type Router from '@koa/router';
import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import readProviderInternals from 'oidc-provider/lib/helpers/weak_cache.js';
import { FRONT_CHANNEL_PATHS } from './koa-post-as-get.ts';

/** The one method of oidc-provider 9's router (lib/helpers/router.js) read here: the route for a method and path, if any. */
interface ProviderRouter {
  match(method: string, path: string): unknown;
}

/** The methods any route of the provider or ours takes (the provider adds HEAD to each GET itself). */
const ROUTE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * A request nothing answered, on a path that some route serves with other methods: 405 with
 * `Allow` listing them (RFC 9110 §15.5.6), and OPTIONS answered with `Allow` (§9.3.7). A path
 * no route serves stays 404. @koa/router's own `allowedMethods()` answers 501 to a method outside
 * its list (TRACE, CONNECT, PROPFIND) even on its paths, and the provider's routes (/token,
 * /auth, /jwks…) fall through to 404: here one rule covers both, from what the routers register.
 * The provider's router is an internal of oidc-provider 9 (lib/provider.js keeps it with the
 * keystore, see src/oidc/provider-signing-keys.ts); the method tests fail if an upgrade moves it.
 */
export function allowedMethods(routers: readonly Router[], provider: Provider): Middleware {
  const providerRouter = (readProviderInternals(provider) as { router?: ProviderRouter } | undefined)?.router;
  const methodsFor = (path: string) => {
    const methods = new Set<string>();
    for (const router of routers) {
      for (const layer of router.match(path, 'GET').path) for (const method of layer.methods) methods.add(method);
    }
    for (const method of ROUTE_METHODS) if (providerRouter?.match(method, path)) methods.add(method);
    // The front channel's form posts reach the provider as GETs (src/http/koa-post-as-get.ts).
    if (FRONT_CHANNEL_PATHS.has(path)) methods.add('POST');
    return methods;
  };
  return async (ctx, next) => {
    await next();
    if (ctx.status !== 404 || ctx.body != null) return;
    const methods = methodsFor(ctx.path);
    if (methods.size === 0 || methods.has(ctx.method)) return;
    ctx.set('Allow', [...methods].join(', '));
    ctx.status = ctx.method === 'OPTIONS' ? 204 : 405;
  };
}
