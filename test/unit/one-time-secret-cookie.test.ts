// The cookie that carries a new API key from the POST that made it to the one page that shows it
// (src/http/one-time-secret-cookie.ts): sealed, bound to the account and the application, 5 minutes.
import { describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
import { deriveKey } from '../../src/crypto/secret-box.ts';
import { forgetKept, keepForOneView, ONE_TIME_SECRET_LIFETIME_MS, openKept, type OneTimeSecret,
  type OneTimeSecretBinding } from '../../src/http/one-time-secret-cookie.ts';

/** What the new-key page does: open, show, forget. */
function takeForView(ctx: Parameters<typeof openKept>[0], key: Buffer, binding: OneTimeSecretBinding, now?: number) {
  const kept = openKept(ctx, key, binding, now);
  forgetKept(ctx);
  return kept;
}

const key = deriveKey('a test SECRET_KEY of enough length', 'one-time-secret-cookie');
const secret: OneTimeSecret = { kind: 'rotated', secretId: 's1', clientSecret: 'tkm_sk_example', previousValidUntil: null };
const binding = { accountId: 'acc-1', clientId: 'tkm_app' };

/** The cookie jar of one browser, as Koa's ctx.cookies sees it. */
function browser(secure = false) {
  const jar = new Map<string, { value: string; options: Record<string, unknown> }>();
  const ctx = {
    secure,
    cookies: {
      get: (name: string) => jar.get(name)?.value,
      set: (name: string, value: string | null, options: Record<string, unknown>) => {
        if (value === null) jar.delete(name);
        else jar.set(name, { value, options });
      },
    },
  } as unknown as Context;
  return { ctx, jar };
}

describe('the one-time key cookie', () => {
  it('stays until the page that shows it is rendered: opening it alone (a render that then fails) keeps the key', () => {
    const { ctx } = browser();
    keepForOneView(ctx, key, binding, secret);
    expect(openKept(ctx, key, binding)).toEqual(secret);
    expect(openKept(ctx, key, binding)).toEqual(secret);
    forgetKept(ctx);
    expect(openKept(ctx, key, binding)).toBeUndefined();
  });

  it('is sealed (the key is not in it), HttpOnly, SameSite=Strict, 5 minutes, __Host- over https; the first read clears it', () => {
    const { ctx, jar } = browser(true);
    keepForOneView(ctx, key, binding, secret);
    const [[name, cookie]] = [...jar] as [[string, { value: string; options: Record<string, unknown> }]];
    expect(name).toBe('__Host-tokenim_new_key');
    expect(cookie.value).not.toContain('tkm_sk_example');
    expect(cookie.options).toMatchObject({ httpOnly: true, sameSite: 'strict', secure: true, path: '/', maxAge: ONE_TIME_SECRET_LIFETIME_MS });
    expect(takeForView(ctx, key, binding)).toEqual(secret);
    expect(jar.size).toBe(0);
    expect(takeForView(ctx, key, binding)).toBeUndefined();
  });

  it('opens to nothing for another account, another application, another key, an altered value, or after 5 minutes', () => {
    const now = Date.now();
    const attempts: [string, (ctx: Context) => OneTimeSecret | undefined][] = [
      ['another account', (ctx) => takeForView(ctx, key, { ...binding, accountId: 'acc-2' })],
      ['another application', (ctx) => takeForView(ctx, key, { ...binding, clientId: 'tkm_other' })],
      ['another SECRET_KEY', (ctx) => takeForView(ctx, deriveKey('another SECRET_KEY of enough length', 'one-time-secret-cookie'), binding)],
      ['after 5 minutes', (ctx) => takeForView(ctx, key, binding, now + ONE_TIME_SECRET_LIFETIME_MS)],
    ];
    for (const [what, attempt] of attempts) {
      const { ctx, jar } = browser();
      keepForOneView(ctx, key, binding, secret, now);
      expect([what, attempt(ctx)]).toEqual([what, undefined]);
      expect([what, jar.size]).toEqual([what, 0]);
    }
    const { ctx, jar } = browser();
    keepForOneView(ctx, key, binding, secret, now);
    const sealed = jar.get('tokenim_new_key')!;
    const altered = sealed.value.slice(0, -2) + (sealed.value.endsWith('AA') ? 'BB' : 'AA');
    jar.set('tokenim_new_key', { ...sealed, value: altered });
    expect(takeForView(ctx, key, binding, now)).toBeUndefined();
    keepForOneView(ctx, key, binding, secret, now);
    expect(takeForView(ctx, key, binding, now + ONE_TIME_SECRET_LIFETIME_MS - 1)).toEqual(secret);
  });
});
