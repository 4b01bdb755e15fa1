import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Locale } from '../permissions/catalog.ts';
import { describeUser, searchUsers, type AdminUserDeps } from '../accounts/admin-users.ts';
import { assignRoles, disableAccount, enableAccount, resendActivation, resetSecondFactor } from '../accounts/admin-user-actions.ts';
import { registerRecordActions, savedNotice, type AdminGuards, type AdminRouteDeps, type RecordAction } from './admin-routes.ts';
import { field, parseForm, requestContext } from './forms.ts';
import { signedInOf } from './koa-signed-in.ts';
import { decodeCursor, usersPageView, userView } from './admin-users-view-models.ts';

const searchQuery = z.object({ q: field(320).optional(), after: field(1024).optional() });
const rolesForm = z.object({ roles: z.union([field(100), z.array(field(100)).max(50)]).optional()
  .transform((v) => (v === undefined ? [] : [v].flat())) });

const localeOf = (ctx: Context) => ctx.state.locale as Locale;

/** The Users area of the admin console: the admin only (the auditor reads the ledger and authorizations). */
export function registerUsersRoutes(router: Router, deps: AdminRouteDeps, guards: AdminGuards): void {
  const users: AdminUserDeps = { ...deps.flows, mfa: deps.secondFactor.mfa };
  const { catalog, renderer } = deps;
  const admin = (ctx: Context) => signedInOf(ctx).account;
  /** Each action of /admin/users/:id, by the last segment of its URL. */
  const actions: Record<string, RecordAction> = {
    disable: { saved: 'disabled', run: (ctx, id) => disableAccount(users, admin(ctx), id) },
    activate: { saved: 'enabled', run: (ctx, id) => enableAccount(users, admin(ctx), id) },
    'reset-two-factor': { saved: 'mfa_reset', run: (ctx, id) => resetSecondFactor(users, admin(ctx), id, requestContext(ctx)) },
    'resend-activation': { saved: 'activation_resent', run: (ctx, id) => resendActivation(users, admin(ctx), id, requestContext(ctx)) },
    roles: { saved: 'roles', run: (ctx, id) => assignRoles(users, admin(ctx), id, parseForm(rolesForm, ctx.request.body).roles) },
  };

  async function renderUser(ctx: Context, id: string, extra: Record<string, unknown> = {}, status = 200) {
    const details = await describeUser(users, id, (clientId) => deps.provider.Client.find(clientId));
    renderer.page(ctx, 'admin-user', { ...userView(catalog, details, localeOf(ctx)), consoleAccess: ctx.state.consoleAccess,
      isSelf: details.account.id === admin(ctx).id, saved: savedNotice(ctx, actions), ...extra }, status);
  }

  router.get('/users', ...guards.writePage, async (ctx) => {
    const { q = '', after } = parseForm(searchQuery, ctx.query);
    const page = await searchUsers(users, q, decodeCursor(after));
    renderer.page(ctx, 'admin-users', { ...usersPageView(catalog, page, q.trim(), localeOf(ctx)), consoleAccess: ctx.state.consoleAccess });
  });

  router.get('/users/:id', ...guards.writePage, (ctx) => renderUser(ctx, ctx.params.id!));

  registerRecordActions(router, guards, renderer, '/users', actions, renderUser);
}
