import Koa, { HttpError, type Middleware } from 'koa';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Locale, PermissionCatalog } from '../permissions/catalog.ts';
import { bearerAuth, requireScope, type BearerOptions } from './koa-bearer.ts';
import type { VerifiedAccessToken } from './verify-access-token.ts';
import type { DpopProofVerifier } from './verify-dpop-proof.ts';
import { loadTranslations, resolveLocale, type Translate } from '../http/i18n.ts';
import { DEFAULT_VIEWS_DIR } from '../http/render.ts';

/**
 * The example TokenIM API: POST /v1/messages needs message:send, GET /v1/calls needs calls:read.
 * It stores nothing; it shows how a TokenIM service uses the bearer/DPoP middleware.
 */
export function createImApi(
  verify: (token: string) => Promise<VerifiedAccessToken>,
  catalog: PermissionCatalog,
  settings: { dpop?: DpopProofVerifier; trustProxy?: boolean } = {},
): Koa {
  const translations = loadTranslations(DEFAULT_VIEWS_DIR);
  const options: BearerOptions = {
    translations,
    ...(settings.dpop ? { dpop: settings.dpop } : {}),
    explainMissingScope: (scope, token, t) => {
      // A client-credentials token acts for the application itself: its allow-list, not a role, decides.
      if (token && token.claims.sub === token.claims.client_id) return t('resource_server.application_not_allowed');
      const roles = catalog.rolesGranting(scope);
      // People know roles by their labels (config/roles.json), in the language `t` speaks.
      const locale = t('lang') as Locale;
      return roles.length
        ? t('resource_server.role_grants', { roles: roles.map((role) => catalog.describeRole(role, locale)).join(t('resource_server.roles_or')) })
        : t('resource_server.no_role');
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
  // Behind a reverse proxy the request URL (which DPoP proofs name) is the proxy's: X-Forwarded-*.
  const app = new Koa({ proxy: settings.trustProxy ?? false });
  app.use(answerUnavailableInLanguage(translations));
  app.use(router.routes()).use(router.allowedMethods());
  return app;
}

/**
 * The 503 the bearer middleware answers when it cannot check a DPoP proof (the shared replay cache,
 * Redis, is down: RFC 9449 §11.1 forbids accepting the proof unchecked) speaks the caller's
 * language, as the 401 and 403 do; its Retry-After stays.
 */
function answerUnavailableInLanguage(translations: Record<Locale, Translate>): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (!(error instanceof HttpError) || error.status !== 503) throw error;
      ctx.status = 503;
      ctx.set(error.headers ?? {});
      ctx.body = translations[resolveLocale({ acceptLanguage: ctx.get('Accept-Language') })]('im_api.unavailable');
    }
  };
}
