import type { Context, Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';

/** Runs before the provider's routes; true when it has answered the request itself (the routes then do not run). */
export type RouteGuard = (ctx: Context) => boolean | Promise<boolean>;

/** Changes the provider's answer on one of its routes, after the route has run (ctx.oidc is there). */
export type AnswerRewrite = (ctx: KoaContextWithOIDC) => void | Promise<void>;

/**
 * Everything we add around the provider's routes, as one middleware: the guards before them (the
 * token endpoint's rate limit), and after them the rewrites of their answers, by route name
 * (lib/helpers/initialize_app.js). One place for them, and one layer, not one per addition: each
 * Koa layer is a promise and an await more on every request the provider serves.
 */
export function aroundProviderRoutes(guards: RouteGuard[], rewrites: Record<string, AnswerRewrite[]>): Middleware {
  const byRoute = new Map(Object.entries(rewrites));
  return async (ctx, next) => {
    for (const guard of guards) {
      // A guard that passes synchronously (most requests) costs no await.
      const answered = guard(ctx);
      if (answered === true || (answered !== false && await answered)) return;
    }
    await next();
    // ctx.oidc exists on the provider's routes only.
    const route = (ctx as Partial<KoaContextWithOIDC>).oidc?.route;
    const forRoute = route === undefined ? undefined : byRoute.get(route);
    if (forRoute) for (const rewrite of forRoute) await rewrite(ctx as KoaContextWithOIDC);
  };
}
