import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Locale } from '../permissions/catalog.ts';
import { countAuthorizations, hasFilter, listAuthorizations, revokeAuthorization, revokeAuthorizations,
  type AuthorizationDeps, type AuthorizationQuery } from '../accounts/authorizations.ts';
import type { AdminGuards, AdminRouteDeps } from './admin-routes.ts';
import { field, parseForm, seeOther } from './forms.ts';
import { signedInOf } from './koa-signed-in.ts';
import { formatDate } from './developer-view-models.ts';
import { readSearchBox } from '../shared/console-page.ts';

const text = z.string().max(320).optional().catch(undefined);
const listQuery = z.object({ q: text, permission: text, person: text, client: text, after: text, saved: text, revoked: text });
const filterForm = z.object({ permission: field(320).optional(), person: field(320).optional(), client: field(320).optional() });
const revokeAllForm = filterForm.extend({
  count: z.string().regex(/^\d{1,9}$/).optional(),
  everything: z.literal('yes').optional(),
});
const SAVED = new Set(['revoked', 'revoked_all']);

/** The filter of a request, empty fields dropped; `q` fills the field it names. */
function queryOf(deps: AdminRouteDeps, input: { q?: string | undefined } & AuthorizationQuery): AuthorizationQuery {
  const fromSearch = readSearchBox(deps.catalog, input.q ?? '');
  const pick = (value: string | undefined) => (value?.trim() ? value.trim() : undefined);
  return {
    permission: pick(input.permission) ?? fromSearch.permission,
    person: pick(input.person) ?? fromSearch.person,
    client: pick(input.client) ?? fromSearch.client,
  };
}

/** The filter as it goes back into links and hidden fields. */
const filterParams = (query: AuthorizationQuery) => new URLSearchParams(Object.entries({
  permission: query.permission, person: query.person, client: query.client,
}).filter((entry): entry is [string, string] => Boolean(entry[1])));

/** The Authorizations area (/admin/authorizations): the auditor reads it, only the admin revokes. */
export function registerAuthorizationsRoutes(router: Router, deps: AdminRouteDeps, guards: AdminGuards) {
  const domain: AuthorizationDeps = {
    authorizations: deps.authorizations, accounts: deps.flows.accounts, applications: deps.applications.applications,
    catalog: deps.catalog, sessions: deps.flows.sessions, audit: deps.flows.audit,
    findClient: (clientId) => deps.provider.Client.find(clientId),
  };
  const words = (locale: Locale) => (scope: string) => deps.catalog.describeScope(scope, locale);

  router.get('/authorizations', ...guards.readPage, async (ctx: Context) => {
    const input = listQuery.parse(ctx.query);
    const query = queryOf(deps, input);
    const locale = ctx.state.locale as Locale;
    const { rows, next, total } = await listAuthorizations(domain, { ...query, after: input.after });
    const params = filterParams(query);
    deps.renderer.page(ctx, 'admin-authorizations', {
      area: 'authorizations', consoleAccess: ctx.state.consoleAccess, canRevoke: ctx.state.consoleAccess === 'write',
      query, hasFilter: hasFilter(query), total,
      permissions: [...deps.catalog.apiScopes, ...deps.catalog.oidcScopes].map((scope) => ({ scope, label: words(locale)(scope) })),
      rows: rows.map((row) => ({
        ...row,
        permissions: row.permissions.map((p) => ({ ...p, label: words(locale)(p.scope) })),
        since: formatDate(row.since, locale), sinceIso: row.since.toISOString(),
        lastUsed: formatDate(row.lastUsed, locale), lastUsedIso: row.lastUsed?.toISOString(),
      })),
      next: next ? `?${new URLSearchParams([...params, ['after', next]])}` : undefined,
      saved: input.saved && SAVED.has(input.saved) ? input.saved : undefined, revoked: Number(input.revoked ?? 0),
      filterQuery: params.toString(),
      switchHref: `?${new URLSearchParams([...params, ['ui_locales', locale === 'en' ? 'zh-CN' : 'en']])}`,
    });
  });

  // Revoke one: the list comes back with the same filter.
  router.post('/authorizations/:grantId/revoke', ...guards.action, async (ctx: Context) => {
    const query = queryOf(deps, parseForm(filterForm, ctx.request.body));
    await revokeAuthorization(domain, signedInOf(ctx).account, String(ctx.params.grantId));
    seeOther(ctx, `/admin/authorizations?${new URLSearchParams([...filterParams(query), ['saved', 'revoked']])}`);
  });

  // Revoke all of a filter's results: without `count`, the confirmation naming how many; with it,
  // the revocation if the filter still matches that many, else the confirmation again (409).
  router.post('/authorizations/revoke', ...guards.action, async (ctx: Context) => {
    const form = parseForm(revokeAllForm, ctx.request.body);
    const query = queryOf(deps, form);
    const confirm = async (count: number, changed: boolean) => deps.renderer.page(ctx, 'admin-authorizations-confirm', {
      area: 'authorizations', consoleAccess: ctx.state.consoleAccess, query, count, changed, hasFilter: hasFilter(query),
      permissionLabel: query.permission ? deps.catalog.describeScope(query.permission, ctx.state.locale as Locale) : undefined,
      filterQuery: filterParams(query).toString(), hideLanguageSwitch: true,
    }, changed ? 409 : 200);
    if (form.count === undefined) return confirm(await countAuthorizations(domain, query), false);
    const result = await revokeAuthorizations(domain, signedInOf(ctx).account, query, Number(form.count), form.everything === 'yes');
    if (result.outcome === 'changed') return confirm(result.count, true);
    seeOther(ctx, `/admin/authorizations?${new URLSearchParams([...filterParams(query), ['saved', 'revoked_all'],
      ['revoked', String(result.count)]])}`);
  });
}
