import type { Context } from 'koa';
import type { OnceMarker } from '../shared/failure-limiter.ts';
import { CSRF_FIELD } from './koa-csrf.ts';
import { AppError } from '../shared/app-error.ts';

/**
 * How long a sent form is remembered. A CSRF token does not expire by itself; a day covers a double
 * click, a re-sent request and a form restored by the back button.
 */
const REMEMBERED_SECONDS = 86_400;

/**
 * Makes the CSRF token of a form that issues an API key single-use: every page we serve carries a
 * new token (src/http/koa-csrf.ts), so one token is one filled-in form. The first POST with it
 * claims it (`sentForms`: a OnceMarker, one atomic increment on the counters every instance shares:
 * Redis, else the SQLite file or MongoDB) and runs `action`; a second POST of the same form
 * (a double click, a re-sent request) runs nothing and gets false. A refused action (AppError) gives
 * the claim back, so the corrected form can be sent again. Runs after csrfProtection, which verified the token.
 */
export async function runOncePerForm(sentForms: OnceMarker, ctx: Context, action: () => Promise<void>): Promise<boolean> {
  const token = (ctx.request.body as Record<string, unknown>)[CSRF_FIELD];
  if (typeof token !== 'string') throw new TypeError('runOncePerForm runs after csrfProtection');
  if (!(await sentForms.isFirst(token, REMEMBERED_SECONDS))) return false;
  try {
    await action();
  } catch (error) {
    // A refusal (AppError: a bad field, a limit) changed nothing: the corrected form may be sent. Any
    // other failure may have come after the change (a key written, then the ledger failed): the
    // claim stays, so a resend cannot rotate again and end the unseen key's predecessor.
    if (error instanceof AppError) await sentForms.release(token).catch(() => undefined);
    throw error;
  }
  return true;
}
