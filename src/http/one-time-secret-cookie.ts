import type { Context } from 'koa';
import { open, seal, SealError } from '../crypto/secret-box.ts';
import { hostCookieName } from '../shared/cookie-names.ts';

/**
 * A new API key on its way from the POST that made it to the one GET that shows it
 * (POST/redirect/GET, so that a reload never re-sends the form). The key is never stored at rest in
 * plain text (only its keyed hash is, issue 10 item 4), so it rides in this cookie: sealed with
 * AES-256-GCM under a SECRET_KEY subkey of its own, bound to the account and the application (the
 * associated data), alive 5 minutes, HttpOnly, SameSite=Strict, and cleared by the GET that reads it.
 *
 * `__Host-` over https like our other cookies (src/shared/cookie-names.ts), which RFC 6265bis
 * §4.1.3.2 allows only with Path=/: the prefix keeps a sibling subdomain from planting or shadowing
 * it, which a narrower Path would not (a Path is no security boundary, RFC 6265 §8.5). What limits
 * its exposure is its 5-minute life and the GET that clears it, the request right after the 303.
 */
const COOKIE = 'tokenim_new_key';
export const ONE_TIME_SECRET_LIFETIME_MS = 5 * 60_000;

export interface OneTimeSecret {
  kind: 'created' | 'rotated';
  /** null for a native (public) application: it has no key, its "created" page says so. */
  secretId: string | null;
  clientSecret: string | null;
  /** ISO 8601: until when the replaced key keeps working (a rotation with a grace). */
  previousValidUntil: string | null;
}

interface Sealed extends OneTimeSecret {
  /** Epoch milliseconds: the sealed value is refused after it, whatever the browser kept. */
  exp: number;
}

export interface OneTimeSecretBinding {
  accountId: string;
  clientId: string;
}

const cookieName = (ctx: Context) => hostCookieName(COOKIE, ctx.secure);
const associatedData = ({ accountId, clientId }: OneTimeSecretBinding) => JSON.stringify(['one-time-secret', accountId, clientId]);
const options = (ctx: Context) => ({ httpOnly: true, sameSite: 'strict' as const, secure: ctx.secure, path: '/', signed: false,
  overwrite: true });

/** Seals the new key into the cookie for the GET the POST redirects to. */
export function keepForOneView(ctx: Context, key: Buffer, binding: OneTimeSecretBinding, secret: OneTimeSecret,
  now = Date.now()): void {
  const sealed: Sealed = { ...secret, exp: now + ONE_TIME_SECRET_LIFETIME_MS };
  ctx.cookies.set(cookieName(ctx), seal(key, JSON.stringify(sealed), associatedData(binding)),
    { ...options(ctx), maxAge: ONE_TIME_SECRET_LIFETIME_MS });
}

/**
 * The key kept for this account and application, if any; the cookie stays until forgetKept. A
 * cookie sealed for another account or application, altered, or older than 5 minutes opens to
 * nothing.
 */
export function openKept(ctx: Context, key: Buffer, binding: OneTimeSecretBinding, now = Date.now()): OneTimeSecret | undefined {
  const value = ctx.cookies.get(cookieName(ctx));
  if (value === undefined) return undefined;
  try {
    const { exp, ...secret } = JSON.parse(open(key, value, associatedData(binding))) as Sealed;
    return exp > now ? secret : undefined;
  } catch (error) {
    if (error instanceof SealError) return undefined;
    throw error;
  }
}

/** Clears the cookie: called once the page showing the key has been rendered, so a failed render loses nothing. */
export function forgetKept(ctx: Context): void {
  if (ctx.cookies.get(cookieName(ctx)) !== undefined) ctx.cookies.set(cookieName(ctx), null, options(ctx));
}
