import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { AccountFlowDeps } from '../accounts/account-flows.ts';
import { registerAccount, resendVerification } from '../accounts/register-account.ts';
import { verifyEmail } from '../accounts/verify-email.ts';
import { isResetLinkUsable, requestPasswordReset, resetPassword } from '../accounts/reset-password.ts';
import { PASSWORD_RECOMMENDED_LENGTH } from '../accounts/account-rules.ts';
import type { Notice, Renderer } from './render.ts';
import { csrfProtection } from './koa-csrf.ts';
import { field, formBody, interactionField, parseForm, passwordField, requestContext, seeOther, withFormErrors } from './forms.ts';

export interface SignupDeps {
  flows: AccountFlowDeps;
  renderer: Renderer;
}

const registerForm = z.object({ email: field(320), password: passwordField(), name: field(200).default(''), interaction: interactionField() });
const emailForm = z.object({ email: field(320), interaction: interactionField() });
const resetForm = z.object({ token: field(64), password: passwordField() });
const tokenQuery = z.object({ token: z.string().max(64).catch(''), interaction: interactionField() });

/**
 * Where "continue" goes after a sign-up step: back into the sign-in the person started (which
 * src/http/continue-routes.ts resumes, or explains when it was started elsewhere), or to /account.
 */
const continueUrl = (interaction: string | undefined) => (interaction ? `/interaction/${interaction}/continue` : '/account');
const withInteraction = (path: string, interaction: string | undefined) =>
  interaction ? `${path}?interaction=${encodeURIComponent(interaction)}` : path;

export function createSignupRoutes(deps: SignupDeps): Router {
  const router = new Router();
  const csrf = csrfProtection();
  const { flows, renderer } = deps;
  const t = (ctx: Context) => renderer.translations[ctx.state.locale as 'en'];
  const resetInvalid = (ctx: Context): Notice =>
    ({ kind: 'error', key: 'reset_invalid', link: { href: '/forgot-password', label: t(ctx)('reset_invalid.again') } });
  const renderRegister = (ctx: Context, data: Record<string, unknown>, status = 200) =>
    renderer.page(ctx, 'register', { minLength: flows.passwordMinLength, recommended: PASSWORD_RECOMMENDED_LENGTH, ...data }, status);

  router.get('/register', csrf, (ctx) => {
    renderRegister(ctx, { interaction: tokenQuery.parse(ctx.query).interaction });
  });
  router.post('/register', formBody, csrf, async (ctx) => {
    const form = parseForm(registerForm, ctx.request.body);
    await withFormErrors(ctx, renderer, async () => {
      await registerAccount(flows, form, requestContext(ctx), form.interaction);
      seeOther(ctx, withInteraction('/register/sent', form.interaction));
    }, (error, status) => renderRegister(ctx, { ...form, error, switchTo: withInteraction('/register', form.interaction) }, status));
  });
  router.get('/register/sent', (ctx) => renderer.notice(ctx, { kind: 'info', key: 'register_sent',
    link: { href: continueUrl(tokenQuery.parse(ctx.query).interaction), label: t(ctx)('register_sent.back') } }));

  router.get('/verify-email', async (ctx) => {
    const { token, interaction } = tokenQuery.parse(ctx.query);
    const verified = await verifyEmail(flows, token, requestContext(ctx));
    if (verified) {
      renderer.notice(ctx, { kind: 'success', key: 'verified', link: { href: continueUrl(interaction), label: t(ctx)('verified.continue') } });
    } else {
      renderer.notice(ctx, { kind: 'error', key: 'verify_failed', link: { href: '/verify-email/resend', label: t(ctx)('verify_failed.resend') } });
    }
  });
  router.get('/verify-email/resend', csrf, (ctx) => renderer.page(ctx, 'resend-activation', {}));
  router.post('/verify-email/resend', formBody, csrf, async (ctx) => {
    const { email, interaction } = parseForm(emailForm, ctx.request.body);
    await resendVerification(flows, email, requestContext(ctx), interaction);
    seeOther(ctx, '/register/sent');
  });

  router.get('/forgot-password', csrf, (ctx) => renderer.page(ctx, 'forgot-password', { interaction: tokenQuery.parse(ctx.query).interaction }));
  router.post('/forgot-password', formBody, csrf, async (ctx) => {
    const { email } = parseForm(emailForm, ctx.request.body);
    await requestPasswordReset(flows, email, requestContext(ctx));
    // The same answer whether or not the account exists.
    seeOther(ctx, '/forgot-password/sent');
  });
  router.get('/forgot-password/sent', (ctx) => renderer.notice(ctx, { kind: 'info', key: 'reset_sent',
    link: { href: '/account', label: t(ctx)('reset_sent.back') } }));

  const renderReset = (ctx: Context, token: string, data: Record<string, unknown> = {}, status = 200) =>
    renderer.page(ctx, 'reset-password', { token, minLength: flows.passwordMinLength, recommended: PASSWORD_RECOMMENDED_LENGTH, ...data }, status);
  router.get('/reset-password', csrf, async (ctx) => {
    const { token } = tokenQuery.parse(ctx.query);
    if (!(await isResetLinkUsable(flows, token))) {
      renderer.notice(ctx, resetInvalid(ctx));
      return;
    }
    renderReset(ctx, token);
  });
  router.post('/reset-password', formBody, csrf, async (ctx) => {
    const { token, password } = parseForm(resetForm, ctx.request.body);
    await withFormErrors(ctx, renderer, async () => {
      await resetPassword(flows, token, password, requestContext(ctx));
      seeOther(ctx, '/reset-password/done');
    }, (error, status, code) => (code === 'reset_link_invalid'
      ? renderer.notice(ctx, resetInvalid(ctx))
      : renderReset(ctx, token, { error, switchTo: `/reset-password?token=${encodeURIComponent(token)}` }, status)));
  });
  router.get('/reset-password/done', (ctx) => renderer.notice(ctx, { kind: 'success', key: 'reset_done',
    link: { href: '/account', label: t(ctx)('reset_done.sign_in') } }));
  return router;
}
