import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Locale } from '../permissions/catalog.ts';
import { accountActor } from '../audit/audit-log.ts';
import { findConsoleApplication, searchConsoleApplications } from '../applications/admin-applications.ts';
import { disableApplication, enableApplication } from '../applications/set-application-enabled.ts';
import { approveApplicationScopes } from '../applications/approve-application-scopes.ts';
import { refuseApplicationScopes } from '../applications/refuse-application-scopes.ts';
import { setApplicationScope } from '../applications/set-application-scope.ts';
import { setApplicationRateLimit } from '../applications/set-application-rate-limit.ts';
import { summarizeTokenRate } from '../applications/token-rate-limit.ts';
import { AppError } from '../shared/app-error.ts';
import { registerRecordActions, savedNotice, type AdminGuards, type AdminRouteDeps, type RecordAction } from './admin-routes.ts';
import { field, parseForm } from './forms.ts';
import { signedInOf } from './koa-signed-in.ts';
import { applicationDetailView, applicationsPageView } from './admin-applications-view-models.ts';

const listQuery = z.object({ q: field(320).optional(), after: field(200).optional(), pending: z.literal('1').optional() });
const scopeForm = z.object({ scope: z.union([field(100), z.array(field(100)).max(50)]).optional()
  .transform((v) => (v === undefined ? '' : [v].flat().join(' '))) });

const scopeOf = (ctx: Context) => parseForm(scopeForm, ctx.request.body).scope;

// Empty: back to the default of the application's type; else requests per minute (0: no limit).
const rateLimitForm = z.object({ per_minute: field(10).optional() });
function perMinuteOf(ctx: Context): number | null {
  const value = (parseForm(rateLimitForm, ctx.request.body).per_minute ?? '').trim();
  if (value === '') return null;
  if (!/^\d+$/.test(value)) throw new AppError('invalid_rate_limit', 'the limit must be a whole number', { status: 400 });
  return Number(value);
}

const localeOf = (ctx: Context) => ctx.state.locale as Locale;

/** The Applications area of the admin console: the admin only (the auditor reads the ledger and authorizations). */
export function registerApplicationsRoutes(router: Router, deps: AdminRouteDeps, guards: AdminGuards): void {
  const { catalog, renderer, applications } = deps;
  const admin = (ctx: Context) => accountActor(signedInOf(ctx).account);
  /** Each action of /admin/applications/:id, by the last segment of its URL. */
  const actions: Record<string, RecordAction> = {
    disable: { saved: 'disabled', run: (ctx, clientId) => disableApplication(applications, clientId, admin(ctx)) },
    enable: { saved: 'enabled', run: (ctx, clientId) => enableApplication(applications, clientId, admin(ctx)) },
    approve: { saved: 'approved', run: (ctx, clientId) => approveApplicationScopes(applications, clientId, scopeOf(ctx), admin(ctx)) },
    refuse: { saved: 'refused', run: (ctx, clientId) => refuseApplicationScopes(applications, clientId, scopeOf(ctx), admin(ctx)) },
    scope: { saved: 'scope', run: (ctx, clientId) => setApplicationScope(applications, clientId, scopeOf(ctx), admin(ctx)) },
    'rate-limit': { saved: 'rate_limit',
      run: (ctx, clientId) => setApplicationRateLimit(applications, clientId, perMinuteOf(ctx), admin(ctx)) },
  };

  async function renderApplication(ctx: Context, clientId: string, extra: Record<string, unknown> = {}, status = 200) {
    const found = await findConsoleApplication(applications, clientId);
    const rateLimit = await summarizeTokenRate(applications.tokenRateLimits, found.application);
    renderer.page(ctx, 'admin-application', { ...applicationDetailView(catalog, found, localeOf(ctx)), rateLimit,
      consoleAccess: ctx.state.consoleAccess, saved: savedNotice(ctx, actions), ...extra }, status);
  }

  router.get('/applications', ...guards.writePage, async (ctx) => {
    const { q = '', after, pending } = parseForm(listQuery, ctx.query);
    const query = { q, after, isPendingApproval: pending === '1' };
    const page = await searchConsoleApplications(applications, query);
    renderer.page(ctx, 'admin-applications', { ...applicationsPageView(catalog, page, query, localeOf(ctx)),
      consoleAccess: ctx.state.consoleAccess });
  });

  router.get('/applications/:id', ...guards.writePage, (ctx) => renderApplication(ctx, ctx.params.id!));

  registerRecordActions(router, guards, renderer, '/applications', actions, renderApplication);
}
