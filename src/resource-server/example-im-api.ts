import Koa from 'koa';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { PermissionCatalog } from '../permissions/catalog.ts';
import { bearerAuth, requireScope, type BearerOptions } from './koa-bearer.ts';
import type { VerifiedAccessToken } from './verify-access-token.ts';

/**
 * The example TokenIM API: POST /v1/messages needs message:send, GET /v1/calls needs calls:read.
 * It stores nothing; it shows how a TokenIM service uses the bearer middleware.
 */
export function createImApi(verify: (token: string) => Promise<VerifiedAccessToken>, catalog: PermissionCatalog): Koa {
  const options: BearerOptions = {
    explainMissingScope: (scope, token) => {
      // A client-credentials token acts for the application itself: its allow-list, not a role, decides.
      if (token && token.claims.sub === token.claims.client_id) {
        return 'this application is not allowed it; an administrator can add it to the application';
      }
      const roles = catalog.rolesGranting(scope);
      return roles.length ? `the role ${roles.join(' or ')} grants it; ask an administrator` : 'no role grants it';
    },
  };
  const router = new Router({ prefix: '/v1' });
  router.use(bearerAuth(verify, options));
  router.post('/messages', requireScope('message:send', options), bodyParser({ enableTypes: ['json'], jsonLimit: '64kb' }), (ctx) => {
    const token = ctx.state.accessToken as VerifiedAccessToken;
    const text = (ctx.request.body as { text?: unknown } | undefined)?.text;
    ctx.status = 201;
    ctx.body = { from: token.claims.sub, via: token.claims.client_id, text: typeof text === 'string' ? text.slice(0, 4000) : '' };
  });
  router.get('/calls', requireScope('calls:read', options), (ctx) => {
    ctx.body = { calls: [], for: (ctx.state.accessToken as VerifiedAccessToken).claims.sub };
  });
  const app = new Koa();
  app.use(router.routes()).use(router.allowedMethods());
  return app;
}
