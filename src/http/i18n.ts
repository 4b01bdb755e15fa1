import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locale } from '../permissions/catalog.ts';

export type Translate = (key: string, params?: Record<string, string | number>) => string;
type Messages = { [key: string]: string | Messages };

/** The message for an error code in the person's language, or `fallback` when there is none. */
export function translateError(t: Translate, code: string, params: Record<string, string | number>, fallback: string): string {
  const key = `errors.${code}`;
  const text = t(key, params);
  return text === key ? fallback : text;
}

function lookup(messages: Messages, key: string): string | undefined {
  let node: string | Messages | undefined = messages;
  for (const part of key.split('.')) {
    if (typeof node !== 'object') return undefined;
    node = node[part];
  }
  return typeof node === 'string' ? node : undefined;
}

export function loadTranslations(viewsDir: string): Record<Locale, Translate> {
  const load = (locale: Locale) => JSON.parse(readFileSync(join(viewsDir, 'locales', `${locale}.json`), 'utf8')) as Messages;
  const english = load('en');
  const make = (messages: Messages): Translate => (key, params = {}) =>
    (lookup(messages, key) ?? lookup(english, key) ?? key).replace(/\{(\w+)\}/g, (m, name: string) => String(params[name] ?? m));
  return { en: make(english), 'zh-CN': make(load('zh-CN')) };
}

/** Maps a language tag to a supported locale: any Chinese tag to zh-CN, else undefined. */
function matchLocale(tag: string): Locale | undefined {
  const lower = tag.trim().toLowerCase();
  if (lower.startsWith('zh')) return 'zh-CN';
  if (lower.startsWith('en')) return 'en';
  return undefined;
}

/**
 * The person's language: an explicit choice (OIDC `ui_locales`, or the switch, remembered in a
 * cookie) first, then Accept-Language in its order of preference, then English.
 */
export function resolveLocale(sources: { uiLocales?: string | undefined; cookie?: string | undefined; acceptLanguage?: string | undefined }): Locale {
  for (const tag of (sources.uiLocales ?? '').split(/\s+/)) {
    const locale = tag && matchLocale(tag);
    if (locale) return locale;
  }
  const fromCookie = sources.cookie && matchLocale(sources.cookie);
  if (fromCookie) return fromCookie;
  const ranked = (sources.acceptLanguage ?? '')
    .split(',')
    .map((part) => {
      const [tag = '', ...rest] = part.split(';');
      const q = rest.map((r) => /^\s*q=([\d.]+)/.exec(r)?.[1]).find(Boolean);
      return { tag, q: q === undefined ? 1 : Number(q) };
    })
    .filter((entry) => entry.q > 0)
    .sort((a, b) => b.q - a.q);
  for (const { tag } of ranked) {
    const locale = matchLocale(tag);
    if (locale) return locale;
  }
  return 'en';
}
