import { fileURLToPath } from 'node:url';
import type { Context } from 'koa';
import { Eta } from 'eta';
import type { Locale } from '../permissions/catalog.ts';
import { loadTranslations, resolveLocale, type Translate } from './i18n.ts';
import { PAGE_CSP } from './koa-security-headers.ts';
import { hostCookieName } from '../shared/cookie-names.ts';

export const DEFAULT_VIEWS_DIR = fileURLToPath(new URL('../../views/', import.meta.url));
export const LOCALE_COOKIE = 'tokenim_lang';

/** What locale resolution reads of a request (a Koa or an oidc-provider context). */
export type LocaleSource = Pick<Context, 'query' | 'cookies' | 'get' | 'secure'>;

/**
 * A one-message page (link sent, link used, signed out, …). Its kind says how it looks: a
 * success, an error (the request failed: status 400 unless given) or information.
 */
export interface Notice {
  kind: 'success' | 'error' | 'info';
  /** Translation key with `.title` and `.message` under it. */
  key: string;
  params?: Record<string, string>;
  /** Where to go next: every notice offers a way on. */
  link?: { href: string; label: string } | undefined;
}

export interface Renderer {
  translations: Record<Locale, Translate>;
  /** Resolves the request's locale (and remembers an explicit ?ui_locales= choice in a cookie). */
  localeOf(ctx: LocaleSource, uiLocales?: string): Locale;
  /** Renders views/<view>.eta in the request's locale as the response body. */
  page(ctx: Context, view: string, data?: Record<string, unknown>, status?: number): void;
  notice(ctx: Context, notice: Notice, status?: number): void;
  /** The logout form and other pages the provider renders itself (no Koa router context). */
  html(locale: Locale, view: string, data?: Record<string, unknown>): string;
}

export function createRenderer(viewsDir = DEFAULT_VIEWS_DIR): Renderer {
  const eta = new Eta({ views: viewsDir, autoEscape: true, cache: true, autoTrim: false });
  const translations = loadTranslations(viewsDir);
  const html = (locale: Locale, view: string, data: Record<string, unknown> = {}) =>
    eta.render(view, { ...data, locale, t: translations[locale] });

  const localeOf = (ctx: LocaleSource, uiLocales?: string): Locale => {
    const chosen = typeof ctx.query.ui_locales === 'string' ? ctx.query.ui_locales : undefined;
    const locale = resolveLocale({
      uiLocales: chosen ?? uiLocales,
      cookie: ctx.cookies.get(hostCookieName(LOCALE_COOKIE, ctx.secure)),
      acceptLanguage: ctx.get('Accept-Language'),
    });
    if (chosen) {
      ctx.cookies.set(hostCookieName(LOCALE_COOKIE, ctx.secure), locale, { httpOnly: true, sameSite: 'lax', signed: false, secure: ctx.secure,
        maxAge: 365 * 86400_000 });
    }
    return locale;
  };

  const renderer: Renderer = {
    translations,
    localeOf,
    html,
    notice(ctx, { kind, key, params, link }, status = kind === 'error' ? 400 : 200) {
      const t = translations[(ctx.state.locale as Locale | undefined) ?? localeOf(ctx)];
      renderer.page(ctx, 'notice', { kind, title: t(`${key}.title`, params), message: t(`${key}.message`, params), link }, status);
    },
    page(ctx, view, data = {}, status = 200) {
      const locale = (ctx.state.locale as Locale | undefined) ?? localeOf(ctx);
      ctx.status = status;
      ctx.type = 'html';
      ctx.set('Cache-Control', 'no-store');
      ctx.set('Content-Security-Policy', PAGE_CSP);
      // The language switch reloads the page with its query (a reset link's token, an interaction);
      // a page answering a POST names the page to reload as `switchTo`.
      const target = new URL(typeof data.switchTo === 'string' ? data.switchTo : ctx.url, 'http://self');
      target.searchParams.set('ui_locales', locale === 'en' ? 'zh-CN' : 'en');
      ctx.body = html(locale, view, { csrfToken: ctx.state.csrfToken, switchHref: `${target.pathname}${target.search}`, ...data });
    },
  };
  return renderer;
}
