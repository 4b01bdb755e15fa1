import type { Middleware } from 'koa';
import type { ConsoleAccess, Locale, PermissionCatalog } from '../permissions/catalog.ts';
import { AppError } from '../shared/app-error.ts';
import { signedInOf } from './koa-signed-in.ts';
import { accountActor, type AuditLog } from '../audit/audit-log.ts';

/**
 * Every /admin route goes through requireSignedIn (a complete sign-in; console roles require the
 * second factor, see catalog.ts) and then this, which decides on the server what the person's roles
 * open of the console: `read` (the ledger and authorizations: the auditor) or `write` (every action:
 * the admin). Anyone else gets 403 naming the roles that would open it (ASVS 5 8.2.1), recorded as
 * `admin.denied`.
 */
export function requireConsole(catalog: PermissionCatalog, needed: Exclude<ConsoleAccess, undefined>, audit: AuditLog): Middleware {
  const openedBy = (level: 'read' | 'write') => catalog.roleNames.filter((role) => {
    const access = catalog.consoleAccess([role]);
    return access === 'write' || access === level;
  });
  const check: Middleware = async (ctx, next) => {
    const { account } = signedInOf(ctx);
    const access = catalog.consoleAccess(account.roles);
    if (access !== 'write' && access !== needed) {
      // Every refusal is in the ledger (ASVS 5 16.3.2, failed authorization decisions): who, where, what it needed.
      await audit.record({ type: 'admin.denied', actor: accountActor(account), subject: account.id, outcome: 'failure',
        details: { method: ctx.method, path: ctx.path, needed, roles: account.roles } });
      const locale = ctx.state.locale as Locale;
      const roles = openedBy(needed).map((role) => catalog.describeRole(role, locale)).join(' / ');
      throw new AppError('console_forbidden', `this page of the admin console needs the role ${roles}`,
        { status: 403, params: { roles } });
    }
    ctx.state.consoleAccess = access;
    await next();
  };
  // Named on the middleware, so that a test can list every /admin route with the access it requires.
  return Object.assign(check, { consoleLevel: needed });
}
