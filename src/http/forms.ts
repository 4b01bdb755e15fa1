import { bodyParser } from '@koa/bodyparser';
import type { Context } from 'koa';
import { z } from 'zod';
import { AppError, isAppError } from '../shared/app-error.ts';
import type { RequestContext } from '../accounts/account-flows.ts';
import type { Locale } from '../permissions/catalog.ts';
import type { Renderer } from './render.ts';
import { translateError } from './i18n.ts';

/** Our forms are small urlencoded bodies; anything larger is refused with 413 before parsing. */
export const formBody = bodyParser({ enableTypes: ['form'], formLimit: '16kb', encoding: 'utf-8' });

/** A form field: a string (never an array or object, ASVS 1.2.4) of bounded length. */
export const field = (max = 1024) => z.string().max(max);
/** Passwords are bounded generously here; the rules (src/accounts/account-rules.ts) say more. */
export const passwordField = () => z.string().max(4096);
/** An interaction uid carried through the sign-up pages so the person can continue signing in. */
export const interactionField = () => z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional().catch(undefined);

export function parseForm<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (!result.success) throw new AppError('invalid_request', 'the form is incomplete or malformed');
  return result.data;
}

export const requestContext = (ctx: Context): RequestContext => ({ ip: ctx.ip, locale: ctx.state.locale as Locale });

/** 303 See Other after every POST (RFC 9700 §4.12). */
export function seeOther(ctx: Context, location: string): void {
  ctx.status = 303;
  ctx.redirect(location);
}

/**
 * Runs a form action; a domain error about the input (AppError, 4xx) re-renders the form with the
 * message in the person's language instead of leaving the page.
 */
export async function withFormErrors(
  ctx: Context,
  renderer: Renderer,
  action: () => Promise<void>,
  rerender: (message: string, status: number, code: string) => void | Promise<void>,
): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (!isAppError(error) || error.status >= 500 || error.code === 'csrf' || error.code === 'invalid_request') throw error;
    const t = renderer.translations[ctx.state.locale as Locale];
    ctx.set(error.headers);
    await rerender(translateError(t, error.code, error.params, error.message), error.status, error.code);
  }
}
