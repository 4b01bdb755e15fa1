import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type Provider from 'oidc-provider';
import type { AccountRecord } from '../storage/contract.ts';
import type { Locale, PermissionCatalog } from '../permissions/catalog.ts';
import type { ApplicationDeps } from '../applications/create-application.ts';
import type { SignInPolicyDeps } from '../mfa/second-factor.ts';
import { accountActor } from '../audit/audit-log.ts';
import { AppError } from '../shared/app-error.ts';
import { createDeveloperApplication } from '../applications/create-developer-application.ts';
import { findDeveloperApplication, listDeveloperApplications } from '../applications/find-developer-application.ts';
import { rotateClientSecret } from '../applications/rotate-client-secret.ts';
import { revokeClientSecret } from '../applications/revoke-client-secret.ts';
import { deleteDeveloperApplication } from '../applications/revoke-application.ts';
import { updateDeveloperApplication } from '../applications/update-developer-application.ts';
import { changeDeveloperApplicationScope } from '../applications/change-developer-application-scope.ts';
import { summarizeTokenRate } from '../applications/token-rate-limit.ts';
import type { Renderer } from './render.ts';
import { csrfProtection } from './koa-csrf.ts';
import { field, formBody, parseForm, seeOther, withFormErrors } from './forms.ts';
import { requireSignedIn, signedInOf } from './koa-signed-in.ts';
import { applicationView, formatDate, permissionChoices, usageExamples } from './developer-view-models.ts';

export interface DeveloperRouteDeps {
  provider: Provider;
  applications: ApplicationDeps;
  catalog: PermissionCatalog;
  renderer: Renderer;
  issuer: string;
  secondFactor: SignInPolicyDeps;
}

/** The grace choices of "rotate": 0, 1 h, 24 h (the default, issue 10 item 4), 7 days. */
export const GRACE_CHOICES = [0, 3600, 86_400, 604_800] as const;
const SAVED = new Set(['secret_revoked', 'deleted', 'scope', 'details']);
/** The "saved" notice named in the query after a redirect, if it is one the pages know. */
const savedNotice = (ctx: Context) =>
  (typeof ctx.query.saved === 'string' && SAVED.has(ctx.query.saved) ? ctx.query.saved : undefined);

const checkboxes = z.union([field(100), z.array(field(100)).max(50)]).optional()
  .transform((v) => (v === undefined ? [] : [v].flat()));
const newApplicationForm = z.object({ name: field(200), type: field(20), scope: checkboxes, redirect_uris: field(8192).optional(),
  post_logout_redirect_uris: field(8192).optional() });
const detailsForm = z.object({ name: field(200), redirect_uris: field(8192).optional(), post_logout_redirect_uris: field(8192).optional() });
const scopeForm = z.object({ scope: checkboxes });
const rotateForm = z.object({ grace: z.enum(GRACE_CHOICES.map(String) as [string, ...string[]]) });
const deleteForm = z.object({ confirm: field(10).optional() });

/** One URI per line (PRODUCT.md, new application form). */
const lines = (text: string | undefined) => (text ?? '').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
const localeOf = (ctx: Context) => ctx.state.locale as Locale;
const appPath = (clientId: string) => `/developers/applications/${encodeURIComponent(clientId)}`;

export function createDeveloperRoutes(deps: DeveloperRouteDeps): Router {
  const router = new Router({ prefix: '/developers' });
  const csrf = csrfProtection();
  const { renderer, catalog, applications } = deps;
  const signedIn = requireSignedIn({ provider: deps.provider, accounts: applications.accounts, secondFactor: deps.secondFactor,
    issuer: deps.issuer }, '/developers');

  async function renderList(ctx: Context, developer: AccountRecord, extra: Record<string, unknown> = {}, status = 200) {
    const now = new Date();
    const owned = await listDeveloperApplications(applications, developer);
    renderer.page(ctx, 'developers', {
      applications: owned.map((a) => applicationView(catalog, a, localeOf(ctx), now)),
      choices: permissionChoices(catalog, applications.sensitiveScopes, developer, localeOf(ctx)),
      form: { name: '', type: 'service', scope: [], redirect_uris: '', post_logout_redirect_uris: '' },
      saved: savedNotice(ctx), ...extra,
    }, status);
  }

  async function renderApplication(ctx: Context, developer: AccountRecord, clientId: string, extra: Record<string, unknown> = {},
    status = 200) {
    const application = await findDeveloperApplication(applications, developer, clientId);
    const rateLimit = await summarizeTokenRate(applications.tokenRateLimits, application);
    const choices = permissionChoices(catalog, applications.sensitiveScopes, developer, localeOf(ctx))
      .filter((c) => application.type !== 'service' || !c.isOidc);
    renderer.page(ctx, 'developers-application', {
      app: applicationView(catalog, application, localeOf(ctx), new Date()), choices,
      usage: usageExamples(deps.issuer, catalog, application), graceChoices: GRACE_CHOICES, rateLimit, saved: savedNotice(ctx), ...extra,
    }, status);
  }

  /** A failed action on one application shows its page again with the error (and what was typed). */
  function backToApplication(ctx: Context, developer: AccountRecord, clientId: string, extra: Record<string, unknown> = {}) {
    return (error: string, status: number) =>
      renderApplication(ctx, developer, clientId, { error, switchTo: appPath(clientId), ...extra }, status);
  }

  router.get('/', csrf, signedIn, (ctx) => renderList(ctx, signedInOf(ctx).account));

  router.post('/applications', formBody, csrf, signedIn, async (ctx) => {
    const { account } = signedInOf(ctx);
    const form = parseForm(newApplicationForm, ctx.request.body);
    await withFormErrors(ctx, renderer, async () => {
      const { application, secret } = await createDeveloperApplication(applications, account, {
        name: form.name, type: form.type, scope: form.scope.join(' '), redirectUris: lines(form.redirect_uris),
        postLogoutRedirectUris: lines(form.post_logout_redirect_uris),
      }, { locale: localeOf(ctx) });
      // The key exists in plain text only in this response (no-store): it is never kept to show again.
      renderer.page(ctx, 'developers-secret', {
        created: true, clientId: application.clientId, clientSecret: secret?.clientSecret,
        expires: formatDate(secret && secret.clientSecretExpiresAt ? new Date(secret.clientSecretExpiresAt * 1000) : null, localeOf(ctx)),
        // No language switch here: reloading would lose the key, shown only this once (as recovery codes).
        pending: application.pendingScope, hideLanguageSwitch: true,
      }, 201);
    }, (error, status) => renderList(ctx, account, { error, form, switchTo: '/developers' }, status));
  });

  router.get('/applications/:clientId', csrf, signedIn, (ctx) => renderApplication(ctx, signedInOf(ctx).account, ctx.params.clientId!));

  // Held to the developer's roles like creation; a new sensitive permission waits for approval.
  router.post('/applications/:clientId/scope', formBody, csrf, signedIn, async (ctx) => {
    const { account } = signedInOf(ctx);
    const { clientId } = await findDeveloperApplication(applications, account, ctx.params.clientId!);
    const form = parseForm(scopeForm, ctx.request.body);
    await withFormErrors(ctx, renderer, async () => {
      await changeDeveloperApplicationScope(applications, account, clientId, form.scope.join(' '));
      seeOther(ctx, `${appPath(clientId)}?saved=scope`);
    }, backToApplication(ctx, account, clientId));
  });

  // Name and URIs, held to the rules of creation; the form comes back with what was typed on an error.
  router.post('/applications/:clientId/details', formBody, csrf, signedIn, async (ctx) => {
    const { account } = signedInOf(ctx);
    const { clientId } = await findDeveloperApplication(applications, account, ctx.params.clientId!);
    const form = parseForm(detailsForm, ctx.request.body);
    await withFormErrors(ctx, renderer, async () => {
      await updateDeveloperApplication(applications, account, clientId, { name: form.name, redirectUris: lines(form.redirect_uris),
        postLogoutRedirectUris: lines(form.post_logout_redirect_uris) });
      seeOther(ctx, `${appPath(clientId)}?saved=details`);
    }, backToApplication(ctx, account, clientId, { details: form }));
  });

  router.post('/applications/:clientId/rotate-secret', formBody, csrf, signedIn, async (ctx) => {
    const { account } = signedInOf(ctx);
    const { clientId } = await findDeveloperApplication(applications, account, ctx.params.clientId!);
    const form = parseForm(rotateForm, ctx.request.body);
    await withFormErrors(ctx, renderer, async () => {
      const rotated = await rotateClientSecret(applications, clientId, { graceSeconds: Number(form.grace), isSelfService: true },
        accountActor(account));
      renderer.page(ctx, 'developers-secret', {
        created: false, clientId, clientSecret: rotated.clientSecret,
        expires: formatDate(rotated.clientSecretExpiresAt ? new Date(rotated.clientSecretExpiresAt * 1000) : null, localeOf(ctx)),
        previousValidUntil: formatDate(rotated.previousSecretValidUntil, localeOf(ctx)), hideLanguageSwitch: true,
      });
    }, backToApplication(ctx, account, clientId));
  });

  router.post('/applications/:clientId/secrets/:secretId/revoke', formBody, csrf, signedIn, async (ctx) => {
    const { account } = signedInOf(ctx);
    const { clientId } = await findDeveloperApplication(applications, account, ctx.params.clientId!);
    await withFormErrors(ctx, renderer, async () => {
      await revokeClientSecret(applications, clientId, ctx.params.secretId!, accountActor(account));
      seeOther(ctx, `${appPath(clientId)}?saved=secret_revoked`);
    }, backToApplication(ctx, account, clientId));
  });

  // Deleting ends the client for the provider, its grants and tokens with it; the ledger says client.deleted.
  router.post('/applications/:clientId/delete', formBody, csrf, signedIn, async (ctx) => {
    const { account } = signedInOf(ctx);
    const { clientId } = await findDeveloperApplication(applications, account, ctx.params.clientId!);
    const form = parseForm(deleteForm, ctx.request.body);
    await withFormErrors(ctx, renderer, async () => {
      if (form.confirm !== 'yes') throw new AppError('confirm_delete', 'tick the box to confirm the deletion');
      await deleteDeveloperApplication(applications, account, clientId);
      seeOther(ctx, '/developers?saved=deleted');
    }, backToApplication(ctx, account, clientId));
  });

  return router;
}
