import { describe, expect, it } from '@jest/globals';
import { resolveLocale } from '../../src/http/i18n.ts';

describe('resolveLocale', () => {
  it.each([
    [{}, 'en'],
    [{ acceptLanguage: 'zh-CN,zh;q=0.9,en;q=0.8' }, 'zh-CN'],
    [{ acceptLanguage: 'fr-FR, en;q=0.5, zh;q=0.7' }, 'zh-CN'],
    [{ acceptLanguage: 'zh-TW;q=0, en' }, 'en'],
    [{ acceptLanguage: 'zh-CN', cookie: 'en' }, 'en'],
    [{ acceptLanguage: 'en', cookie: 'en', uiLocales: 'fr zh-Hans' }, 'zh-CN'],
    [{ uiLocales: 'de' }, 'en'],
  ])('%j → %s', (sources, expected) => {
    expect(resolveLocale(sources)).toBe(expected);
  });
});
