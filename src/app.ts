import Koa from 'koa';
import mount from 'koa-mount';
import type Provider from 'oidc-provider';
import type { StoreConnection } from './storage/contract.ts';
import type { Logger } from './shared/logger.ts';
import type { Renderer } from './http/render.ts';
import { errorHandler } from './http/koa-errors.ts';
import { createOpsRoutes, type Readiness } from './http/ops-routes.ts';
import { createInteractionRoutes, type InteractionDeps } from './http/interaction-routes.ts';

export interface AppDeps extends InteractionDeps {
  provider: Provider;
  renderer: Renderer;
  logger: Logger;
  connections: StoreConnection[];
  readiness: Readiness;
  cookieKeys: string[];
  trustProxy: boolean;
}

/** Koa composition only: middleware order, routes, the provider mounted last. No I/O here. */
export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.proxy = deps.trustProxy;
  // Must equal the provider's cookies.keys: the interaction cookies are set through this app.
  app.keys = deps.cookieKeys;
  app.silent = true;

  app.use(errorHandler(deps.renderer, deps.logger));
  const ops = createOpsRoutes(deps.connections, deps.readiness);
  app.use(ops.routes()).use(ops.allowedMethods());
  const interactions = createInteractionRoutes(deps);
  app.use(interactions.routes()).use(interactions.allowedMethods());
  app.use(mount(deps.provider));
  return app;
}
