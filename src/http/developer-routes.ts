import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type Provider from 'oidc-provider';
import type { AccountRecord, ApplicationRecord } from '../storage/contract.ts';
import type { OnceMarker } from '../shared/failure-limiter.ts';
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
import { isSecretLive } from '../applications/check-client-secret.ts';
import type { Renderer } from './render.ts';
import { csrfProtection } from './koa-csrf.ts';
import { field, formBody, parseForm, seeOther, withFormErrors } from './forms.ts';
import { requireSignedIn, signedInOf } from './koa-signed-in.ts';
import { applicationView, formatDate, permissionChoices, usageExamples } from './developer-view-models.ts';
import { forgetKept, keepForOneView, openKept, type OneTimeSecret } from './one-time-secret-cookie.ts';
import { runOncePerForm } from './single-use-form.ts';

export interface DeveloperRouteDeps {
  provider: Provider;
  applications: ApplicationDeps;
  catalog: PermissionCatalog;
  renderer: Renderer;
  issuer: string;
  secondFactor: SignInPolicyDeps;
  /** Seals a new key for the one page that shows it (one-time-secret-cookie.ts); derived from SECRET_KEY. */
  oneTimeSecretKey: Buffer;
  /** Where the forms that issue a key are marked sent (single-use-form.ts): counters every instance shares. */
  sentForms: OnceMarker;
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
/** The page that shows a new key once: where creating and rotating redirect (POST/redirect/GET). */
const newKeyPath = (clientId: string) => `${appPath(clientId)}/new-key`;

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

  /** The POST that made a key sends it to its one view (POST/redirect/GET: a reload never re-sends the form). */
  function showOnce(ctx: Context, developer: AccountRecord, clientId: string, secret: OneTimeSecret) {
    keepForOneView(ctx, deps.oneTimeSecretKey, { accountId: developer.id, clientId }, secret);
    seeOther(ctx, newKeyPath(clientId));
  }

  router.get('/', csrf, signedIn, (ctx) => renderList(ctx, signedInOf(ctx).account));

  router.post('/applications', formBody, csrf, signedIn, async (ctx) => {
    const { account } = signedInOf(ctx);
    const form = parseForm(newApplicationForm, ctx.request.body);
    const rerender = (error: string, status: number) => renderList(ctx, account, { error, form, switchTo: '/developers' }, status);
    await withFormErrors(ctx, renderer, async () => {
      const isFirstSend = await runOncePerForm(deps.sentForms, ctx, async () => {
        const { application, secret } = await createDeveloperApplication(applications, account, {
          name: form.name, type: form.type, scope: form.scope.join(' '), redirectUris: lines(form.redirect_uris),
          postLogoutRedirectUris: lines(form.post_logout_redirect_uris),
        }, { locale: localeOf(ctx) });
        showOnce(ctx, account, application.clientId,
          { kind: 'created', secretId: secret?.secretId ?? null, clientSecret: secret?.clientSecret ?? null, previousValidUntil: null });
      });
      // The same form again (a double click): the application exists once; say so, keep what was typed.
      if (!isFirstSend) await rerender(renderer.translations[localeOf(ctx)]('one_time_key.create_sent_already'), 409);
    }, rerender);
  });

  router.get('/applications/:clientId', csrf, signedIn, (ctx) => renderApplication(ctx, signedInOf(ctx).account, ctx.params.clientId!));

  // The one view of a new key; read again (a reload), the application's page says the key was shown once.
  router.get('/applications/:clientId/new-key', csrf, signedIn, async (ctx) => {
    const { account } = signedInOf(ctx);
    const clientId = ctx.params.clientId!;
    const kept = openKept(ctx, deps.oneTimeSecretKey, { accountId: account.id, clientId });
    const application = await findDeveloperApplication(applications, account, clientId);
    if (!kept || !isStillLive(application, kept)) {
      forgetKept(ctx);
      return renderApplication(ctx, account, clientId, { keyShownOnce: application.type !== 'native' });
    }
    const secret = application.secrets.find((s) => s.id === kept.secretId);
    renderer.page(ctx, 'developers-secret', {
      created: kept.kind === 'created', clientId, clientSecret: kept.clientSecret,
      expires: formatDate(secret?.expiresAt ?? null, localeOf(ctx)),
      previousValidUntil: formatDate(kept.previousValidUntil ? new Date(kept.previousValidUntil) : null, localeOf(ctx)),
      pending: kept.kind === 'created' ? application.pendingScope : '',
      // No language switch here: it would reload this page, which shows the key only once (as recovery codes).
      hideLanguageSwitch: true,
    });
    // Only now, the page rendered: a request that failed before (a store outage) keeps the key for a retry.
    forgetKept(ctx);
  });

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
      const isFirstSend = await runOncePerForm(deps.sentForms, ctx, async () => {
        const rotated = await rotateClientSecret(applications, clientId, { graceSeconds: Number(form.grace), isSelfService: true },
          accountActor(account));
        showOnce(ctx, account, clientId, { kind: 'rotated', secretId: rotated.secretId, clientSecret: rotated.clientSecret,
          previousValidUntil: rotated.previousSecretValidUntil?.toISOString() ?? null });
      });
      // The same form again: no third key (it would end the first one's grace, at most two are live).
      // The new-key page shows the key if this browser still holds it, else says it was shown once.
      if (!isFirstSend) seeOther(ctx, newKeyPath(clientId));
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

/** A kept key is shown only while it still works (not revoked or ended by a later rotation meanwhile); a native app has none. */
function isStillLive(application: ApplicationRecord, kept: OneTimeSecret): boolean {
  if (kept.secretId === null) return application.type === 'native';
  const secret = application.secrets.find((s) => s.id === kept.secretId);
  return secret !== undefined && isSecretLive(secret, new Date());
}
