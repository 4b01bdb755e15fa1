import { performance } from 'node:perf_hooks';
import type { Middleware } from 'koa';
import type { Logger } from '../shared/logger.ts';
import { httpRequestDuration, httpRequests, throttledRequests } from '../metrics/instruments.ts';

/** The label of a request no route matched: one value, however many paths are tried. */
export const UNMATCHED_ROUTE = 'unmatched';

// Node's parser accepts some thirty methods; the rare ones share a label.
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The route template that served the request, as @koa/router and oidc-provider's router both leave
 * it (`/interaction/:uid/login`, `/token`, `/auth/:uid`): never the path itself, whose ids, codes
 * and tokens would each make a series of their own and land in the log.
 */
const routeOf = (ctx: { _matchedRoute?: unknown }) =>
  (typeof ctx._matchedRoute === 'string' ? ctx._matchedRoute : UNMATCHED_ROUTE);

/**
 * Counts and times every request by method, route template and status, counts the ones refused
 * with 429 (whichever limiter refused them: sign-in, second factor, token endpoint), and logs one
 * debug line per request (method, route, status, duration; never the query string, which can
 * carry codes and tokens). Comes right after requestContext, so the line has the request id.
 */
export function observeRequests(logger: Logger): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    let status = 500;
    try {
      await next();
      status = ctx.status;
    } catch (error) {
      // Only reached when nothing inside answered the error (Koa's default handler then does).
      status = Number((error as { status?: unknown }).status) || 500;
      throw error;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      const method = METHODS.has(ctx.method) ? ctx.method : 'OTHER';
      const route = routeOf(ctx as { _matchedRoute?: unknown });
      httpRequests.inc({ method, route, status });
      httpRequestDuration.observe({ method, route }, seconds);
      if (status === 429) throttledRequests.inc({ route });
      if (logger.isLevelEnabled('debug')) {
        logger.debug({ method, route, status, durationMs: Math.round(seconds * 10_000) / 10 }, 'request completed');
      }
    }
  };
}
