import type { Middleware } from 'koa';
import type { Logger } from '../shared/logger.ts';
import { isAppError } from '../shared/app-error.ts';
import type { Renderer } from './render.ts';
import { translateError } from './i18n.ts';

// Koa and its middleware throw http-errors with these statuses for bad input.
const STATUS_CODES: Record<number, string> = {
  400: 'invalid_request', 404: 'not_found', 413: 'payload_too_large', 415: 'invalid_request', 503: 'service_unavailable',
};

/**
 * Renders every error thrown by our routes: HTML for browsers, JSON {error, error_description}
 * for API clients. 4xx say what to do in the person's language; 5xx details go to the log only.
 */
export function errorHandler(renderer: Renderer, logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const status = Number((error as { status?: unknown }).status) || 500;
      const isServerFault = status >= 500 && status !== 503;
      if (isServerFault) logger.error({ err: error, method: ctx.method, path: ctx.path }, 'request failed');
      else if (status === 503) logger.warn({ err: error, path: ctx.path }, 'a store is unavailable');
      const code = isAppError(error) ? error.code : isServerFault ? 'server_error' : STATUS_CODES[status] ?? 'invalid_request';
      const locale = (ctx.state.locale as 'en' | 'zh-CN' | undefined) ?? renderer.localeOf(ctx);
      const t = renderer.translations[locale];
      const message = translateError(t, code, isAppError(error) ? error.params : {},
        isAppError(error) ? error.message : t('errors.invalid_request'));
      ctx.status = isServerFault ? 500 : status;
      ctx.set('Cache-Control', 'no-store');
      if (isAppError(error)) ctx.set(error.headers);
      if (ctx.accepts('html', 'json') === 'json') {
        ctx.body = { error: code, error_description: message };
      } else {
        ctx.state.locale = locale;
        renderer.page(ctx, 'error', { code, message }, ctx.status);
      }
    }
  };
}
