import type { ErrorOut, KoaContextWithOIDC } from 'oidc-provider';
import type { Renderer } from '../http/render.ts';
import { PAGE_CSP } from '../http/koa-security-headers.ts';
import { providerErrorMessage } from './provider-error-messages.ts';

/**
 * The HTML error page for errors the provider cannot redirect back to the app (bad client_id or
 * redirect_uri, expired interaction, …): a message in the person's language, the RFC error code,
 * and the library's own description for the app's developer. 5xx details stay in the log.
 */
export async function renderProviderError(renderer: Renderer, ctx: KoaContextWithOIDC, out: ErrorOut, error: Error): Promise<void> {
  const locale = renderer.localeOf(ctx);
  const t = renderer.translations[locale];
  const isServerError = ((error as Error & { status?: number }).status ?? 500) >= 500;
  const code = isServerError && out.error !== 'temporarily_unavailable' ? 'server_error' : out.error;
  // The session as the failing route loaded it (ctx.oidc.session is set by the routes that read one).
  const isSignedIn = Boolean(ctx.oidc?.session?.accountId);
  const { key, params } = providerErrorMessage(code, out.error_description, (candidate) => t(candidate) !== candidate, isSignedIn);
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Content-Security-Policy', PAGE_CSP);
  ctx.body = renderer.html(locale, 'error', {
    code: out.error, message: t(key, params), details: isServerError ? undefined : out.error_description,
  });
}
