import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type Provider from 'oidc-provider';
import type { AccountFlowDeps } from '../accounts/account-flows.ts';
import type { PermissionCatalog, Locale } from '../permissions/catalog.ts';
import { changePassword, confirmEmailChange, requestEmailChange, updateProfile } from '../accounts/manage-account.ts';
import { listConnectedApps, removeConnectedApp } from '../accounts/connected-apps.ts';
import { PASSWORD_RECOMMENDED_LENGTH } from '../accounts/account-rules.ts';
import type { Renderer } from './render.ts';
import { csrfProtection } from './koa-csrf.ts';
import { field, formBody, parseForm, passwordField, requestContext, seeOther, withFormErrors } from './forms.ts';
import type { SignInPolicyDeps } from '../mfa/second-factor.ts';
import type { SignedIn } from '../accounts/sign-in-state.ts';
import { requireSignedIn, signedInOf } from './koa-signed-in.ts';

export interface AccountRouteDeps {
  provider: Provider;
  flows: AccountFlowDeps;
  catalog: PermissionCatalog;
  renderer: Renderer;
  issuer: string;
  secondFactor: SignInPolicyDeps;
}

/** The signed-in check of the account pages (src/http/koa-signed-in.ts); POSTs that fail it go back to /account. */
export const accountSignIn = (deps: AccountRouteDeps) =>
  requireSignedIn({ provider: deps.provider, accounts: deps.flows.accounts, secondFactor: deps.secondFactor, issuer: deps.issuer }, '/account');

const profileForm = z.object({ name: field(200) });
const passwordForm = z.object({ current_password: passwordField(), password: passwordField() });
const emailForm = z.object({ email: field(320), current_password: passwordField() });
const SAVED = new Set(['profile', 'password', 'email', 'app_revoked']);

async function renderAccount(deps: AccountRouteDeps, ctx: Context, current: SignedIn, extra: Record<string, unknown> = {}, status = 200) {
  const locale = ctx.state.locale as Locale;
  const apps = await listConnectedApps(deps.flows, current.account, (clientId) => deps.provider.Client.find(clientId));
  const withNames = apps.map((app) => ({
    ...app,
    permissions: app.scopes.map((scope) => deps.catalog.describeScope(scope, locale)),
    sinceText: app.since.toLocaleDateString(locale, { year: 'numeric', month: 'long', day: 'numeric' }),
  }));
  const saved = typeof ctx.query.saved === 'string' && SAVED.has(ctx.query.saved) ? ctx.query.saved : undefined;
  deps.renderer.page(ctx, 'account', {
    account: current.account,
    roles: current.account.roles.map((role) => deps.catalog.describeRole(role, locale)).join(locale === 'zh-CN' ? '、' : ', '),
    apps: withNames, saved, minLength: deps.flows.passwordMinLength,
    recommended: PASSWORD_RECOMMENDED_LENGTH, ...extra,
  }, status);
}

export function createAccountRoutes(deps: AccountRouteDeps): Router {
  const router = new Router({ prefix: '/account' });
  const csrf = csrfProtection();
  const { flows, renderer } = deps;

  const signedIn = accountSignIn(deps);

  router.get('/', csrf, signedIn, (ctx) => renderAccount(deps, ctx, signedInOf(ctx)));

  router.get('/callback', (ctx) => {
    if (typeof ctx.query.error === 'string') {
      const t = renderer.translations[ctx.state.locale as Locale];
      renderer.notice(ctx, { kind: 'error', key: 'account.signin_cancelled', link: { href: '/account', label: t('account.signin_cancelled.again') } });
      return;
    }
    // Only a path of the signed-in pages (/account, /developers, /admin): never an open redirect (RFC 9700 §4.11).
    const state = typeof ctx.query.state === 'string' && /^\/(account|developers|admin)(\/[A-Za-z0-9_-]+)*$/.test(ctx.query.state)
      ? ctx.query.state : '/account';
    ctx.redirect(state);
  });

  const action = (
    schema: z.ZodType<Record<string, string>>,
    run: (current: SignedIn, form: Record<string, string>, ctx: Context) => Promise<string>,
  ) => async (ctx: Context) => {
    const current = signedInOf(ctx);
    const form = parseForm(schema, ctx.request.body);
    await withFormErrors(ctx, renderer, async () => seeOther(ctx, `/account?saved=${await run(current, form, ctx)}`),
      (error, status) => renderAccount(deps, ctx, current, { error, switchTo: '/account' }, status));
  };

  router.post('/profile', formBody, csrf, signedIn, action(profileForm, async ({ account }, form, ctx) => {
    await updateProfile(flows, account, { name: form.name! }, requestContext(ctx));
    return 'profile';
  }));
  router.post('/password', formBody, csrf, signedIn, action(passwordForm, async ({ account, sessionUid }, form, ctx) => {
    await changePassword(flows, account, { currentPassword: form.current_password!, newPassword: form.password!, sessionUid },
      requestContext(ctx));
    return 'password';
  }));
  router.post('/email', formBody, csrf, signedIn, action(emailForm, async ({ account }, form, ctx) => {
    await requestEmailChange(flows, account, { newEmail: form.email!, currentPassword: form.current_password! }, requestContext(ctx));
    return 'email';
  }));
  // By app, not by grant: "Remove access" ends everything the person gave that app.
  router.post('/apps/:clientId/revoke', formBody, csrf, signedIn, async (ctx) => {
    await removeConnectedApp(flows, signedInOf(ctx).account, String(ctx.params.clientId), requestContext(ctx));
    seeOther(ctx, '/account?saved=app_revoked');
  });

  router.get('/confirm-email', async (ctx) => {
    const t = renderer.translations[ctx.state.locale as Locale];
    const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
    const ok = await confirmEmailChange(flows, token, requestContext(ctx));
    renderer.notice(ctx, { kind: ok ? 'success' : 'error', key: ok ? 'email_changed' : 'email_change_failed',
      link: { href: '/account', label: t('account.title') } });
  });
  return router;
}
