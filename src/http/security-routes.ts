import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { SecondFactorDeps } from '../mfa/second-factor.ts';
import { confirmEnrolment, disableMfa, regenerateRecoveryCodes, startEnrolment } from '../mfa/second-factor.ts';
import type { Renderer } from './render.ts';
import { csrfProtection } from './koa-csrf.ts';
import { field, formBody, parseForm, passwordField, requestContext, seeOther, withFormErrors } from './forms.ts';
import { accountSignIn, type AccountRouteDeps } from './account-routes.ts';
import type { SignedIn } from '../accounts/sign-in-state.ts';
import { signedInOf } from './koa-signed-in.ts';

export interface SecurityRouteDeps extends AccountRouteDeps {
  secondFactor: SecondFactorDeps;
}

// Every change here needs the current password with the code (ASVS 5 6.4.3; turning the factor
// on too: a stolen session must not be able to lock the owner out with the thief's authenticator).

const confirmForm = z.object({ current_password: passwordField(), code: field(64) });

async function renderSecurity(deps: SecurityRouteDeps, ctx: Context, { account }: SignedIn, extra: Record<string, unknown> = {}, status = 200) {
  const record = await deps.secondFactor.mfa.findMfaByAccountId(account.id);
  deps.renderer.page(ctx, 'security', {
    account,
    enabled: Boolean(record?.enabledAt),
    recoveryCodesLeft: record?.enabledAt ? record.recoveryCodeHashes.length : 0,
    requiredByRole: deps.catalog.rolesRequireMfa(account.roles),
    saved: ctx.query.saved === 'mfa_disabled' ? 'mfa_disabled' : undefined,
    switchTo: '/account/security',
    ...extra,
  }, status);
}

const showCodes = (renderer: Renderer, ctx: Context, codes: string[]) =>
  renderer.page(ctx, 'recovery-codes', { codes, continueHref: '/account/security', hideLanguageSwitch: true });

/** /account/security: two-factor sign-in (enrol, recovery codes, turn off). */
export function createSecurityRoutes(deps: SecurityRouteDeps): Router {
  const router = new Router({ prefix: '/account/security' });
  const csrf = csrfProtection();
  const { renderer, secondFactor } = deps;

  const signedIn = accountSignIn(deps);

  router.get('/', csrf, signedIn, (ctx) => renderSecurity(deps, ctx, signedInOf(ctx)));

  const renderEnrolment = async (ctx: Context, current: SignedIn, extra: Record<string, unknown> = {}, status = 200) =>
    renderer.page(ctx, 'mfa-enroll', { ...(await startEnrolment(secondFactor, current.account)), action: '/account/security/totp', ...extra }, status);

  router.get('/totp', csrf, signedIn, async (ctx) => {
    const current = signedInOf(ctx);
    await withFormErrors(ctx, renderer, () => renderEnrolment(ctx, current), (error, status) => renderSecurity(deps, ctx, current, { error }, status));
  });
  router.post('/totp', formBody, csrf, signedIn, async (ctx) => {
    const current = signedInOf(ctx);
    const form = parseForm(confirmForm, ctx.request.body);
    await withFormErrors(ctx, renderer, async () => showCodes(renderer, ctx,
      await confirmEnrolment(secondFactor, current.account, { password: form.current_password, code: form.code }, requestContext(ctx))),
    (error, status) => renderEnrolment(ctx, current, { error, switchTo: '/account/security/totp' }, status));
  });
  router.post('/recovery-codes', formBody, csrf, signedIn, async (ctx) => {
    const current = signedInOf(ctx);
    const form = parseForm(confirmForm, ctx.request.body);
    await withFormErrors(ctx, renderer, async () => showCodes(renderer, ctx,
      await regenerateRecoveryCodes(secondFactor, current.account, { password: form.current_password, code: form.code }, requestContext(ctx))),
    (error, status) => renderSecurity(deps, ctx, current, { error }, status));
  });
  router.post('/disable', formBody, csrf, signedIn, async (ctx) => {
    const current = signedInOf(ctx);
    const form = parseForm(confirmForm, ctx.request.body);
    await withFormErrors(ctx, renderer, async () => {
      await disableMfa(secondFactor, current.account, { password: form.current_password, code: form.code }, requestContext(ctx));
      seeOther(ctx, '/account/security?saved=mfa_disabled');
    }, (error, status) => renderSecurity(deps, ctx, current, { error }, status));
  });
  return router;
}
