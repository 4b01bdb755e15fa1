import type { ErrorOut, KoaContextWithOIDC } from 'oidc-provider';
import type { Renderer } from '../http/render.ts';
import { PAGE_CSP } from '../http/koa-security-headers.ts';
import { translateError } from '../http/i18n.ts';

/**
 * The HTML error page for errors the provider cannot redirect back to the app (bad client_id or
 * redirect_uri, expired interaction, …). Only the RFC error code and the provider's public
 * description are shown; 5xx details stay in the log.
 */
export async function renderProviderError(renderer: Renderer, ctx: KoaContextWithOIDC, out: ErrorOut, error: Error): Promise<void> {
  const locale = renderer.localeOf(ctx);
  const t = renderer.translations[locale];
  const isServerError = ((error as Error & { status?: number }).status ?? 500) >= 500;
  // In English the provider's own description is the most precise; other languages get ours.
  const description = out.error_description ?? translateError(t, out.error, {}, out.error);
  const message = isServerError
    ? t('errors.server_error')
    : locale === 'en' ? description : translateError(t, out.error, {}, description);
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Content-Security-Policy', PAGE_CSP);
  ctx.body = renderer.html(locale, 'error', { code: out.error, message });
}
