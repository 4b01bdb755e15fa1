import { describe, expect, it } from '@jest/globals';
import { errors } from 'oidc-provider';
import { createRenderer } from '../../src/http/render.ts';
import { providerErrorMessage } from '../../src/oidc/provider-error-messages.ts';

const { translations } = createRenderer();
const known = (key: string) => translations.en(key) !== key;

/** Every OAuth error code oidc-provider can raise (one per error class). */
const codes = Object.values(errors)
  .map((ErrorClass) => new (ErrorClass as new (...args: string[]) => { error: string })('placeholder', 'placeholder').error)
  .filter((code) => code !== 'placeholder'); // CustomOIDCProviderError takes its code as an argument

describe('the provider\'s error pages in both languages', () => {
  it.each([...new Set(codes), 'server_error'])('%s has its own message, translated', (code) => {
    const { key } = providerErrorMessage(code, undefined, known);
    expect(key).toBe(`provider_errors.${code}`);
    expect(translations['zh-CN'](key)).not.toBe(translations.en(key));
    expect(translations['zh-CN'](key)).toMatch(/[\u4e00-\u9fff]/);
  });

  it.each([
    ["missing required parameter 'response_type'", 'provider_errors.missing_parameter', { param: "'response_type'" }],
    ["'client_id' parameter must not be provided twice", 'provider_errors.duplicate_parameter', { param: "'client_id'" }],
    ['interaction session not found', 'errors.interaction_expired', {}],
    ['post_logout_redirect_uri not registered', 'provider_errors.post_logout_redirect_uri', {}],
    ['could not validate id_token_hint', 'provider_errors.id_token_hint', {}],
    ['something new', 'provider_errors.invalid_request', {}],
  ])('invalid_request "%s" → %s', (description, key, params) => {
    expect(providerErrorMessage('invalid_request', description, known)).toEqual({ key, params });
  });

  it('a code it does not know gets the general message', () => {
    expect(providerErrorMessage('brand_new_error', 'x', known).key).toBe('provider_errors.other');
  });
});
