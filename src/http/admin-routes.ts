import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { AccountFlowDeps } from '../accounts/account-flows.ts';
import type { ApplicationDeps } from '../applications/create-application.ts';
import type { PermissionCatalog } from '../permissions/catalog.ts';
import type { SignInPolicyDeps } from '../mfa/second-factor.ts';
import type { Renderer } from './render.ts';
import type { AuditStore, AuthorizationStore } from '../storage/contract.ts';
import { csrfProtection } from './koa-csrf.ts';
import { formBody, seeOther, withFormErrors } from './forms.ts';
import { requireSignedIn } from './koa-signed-in.ts';
import { requireConsole } from './koa-admin.ts';

export interface AdminRouteDeps {
  provider: Provider;
  flows: AccountFlowDeps;
  applications: ApplicationDeps;
  catalog: PermissionCatalog;
  renderer: Renderer;
  issuer: string;
  secondFactor: SignInPolicyDeps;
  /** The ledger's store, for the Ledger area's queries (writes go through flows.audit). */
  ledger: AuditStore;
  /** The index of grants, for the Authorizations area's queries (revoking goes through flows.sessions). */
  authorizations: AuthorizationStore;
}

/**
 * What every admin route puts in front of its handler, so that no route decides access itself:
 * `read` for pages the auditor may see, `write` for everything else (pages and actions of the
 * admin only). Both check the sign-in (two factors: console roles require them), the console role
 * on the server, and CSRF with the Origin / Sec-Fetch-Site check on every POST.
 */
export interface AdminGuards {
  readPage: Middleware[];
  writePage: Middleware[];
  /** POST only: the form body, then the same checks as `writePage`. */
  action: Middleware[];
}

/** The admin console: one router, each area registering its routes on it with the guards above. */
export function createAdminRoutes(deps: AdminRouteDeps, areas: ((router: Router, deps: AdminRouteDeps, guards: AdminGuards) => void)[]) {
  const router = new Router({ prefix: '/admin' });
  const csrf = csrfProtection();
  const signedIn = requireSignedIn({ provider: deps.provider, accounts: deps.flows.accounts, secondFactor: deps.secondFactor,
    issuer: deps.issuer }, '/admin');
  const guards: AdminGuards = {
    readPage: [csrf, signedIn, requireConsole(deps.catalog, 'read', deps.flows.audit)],
    writePage: [csrf, signedIn, requireConsole(deps.catalog, 'write', deps.flows.audit)],
    // Signed in before CSRF: nobody is sent to sign in (there is no session to forge a post from).
    action: [formBody, signedIn, csrf, requireConsole(deps.catalog, 'write', deps.flows.audit)],
  };
  // The console opens on the first area the person may use.
  router.get('/', ...guards.readPage, (ctx) => {
    ctx.redirect(ctx.state.consoleAccess === 'write' ? '/admin/users' : '/admin/audit');
  });
  for (const register of areas) register(router, deps, guards);
  return router;
}

/** An action on one record's console page (POST `<area>/:id/<name>`): the notice it leaves (`?saved=`) and what it does. */
export interface RecordAction {
  saved: string;
  run(ctx: Context, id: string): Promise<unknown>;
}

/** Shows a record's page again, with `extra` (an error) and `status`. */
export type RenderRecord = (ctx: Context, id: string, extra?: Record<string, unknown>, status?: number) => Promise<void>;

/** The action's notice named in the query after its redirect, if it is one of `actions`. */
export function savedNotice(ctx: Context, actions: Record<string, RecordAction>): string | undefined {
  const saved = ctx.query.saved;
  return typeof saved === 'string' && Object.values(actions).some((action) => action.saved === saved) ? saved : undefined;
}

/**
 * Registers each action of a record's page behind the `action` guards: done, it answers 303 back to
 * the page with its notice; refused, the page again with the error in the person's language.
 */
export function registerRecordActions(router: Router, guards: AdminGuards, renderer: Renderer, area: string,
  actions: Record<string, RecordAction>, render: RenderRecord): void {
  const pathOf = (id: string) => `/admin${area}/${encodeURIComponent(id)}`;
  for (const [name, action] of Object.entries(actions)) {
    router.post(`${area}/:id/${name}`, ...guards.action, async (ctx) => {
      const id = ctx.params.id!;
      await withFormErrors(ctx, renderer, async () => {
        await action.run(ctx, id);
        seeOther(ctx, `${pathOf(id)}?saved=${action.saved}`);
      }, (error, status) => render(ctx, id, { error, switchTo: pathOf(id) }, status));
    });
  }
}
