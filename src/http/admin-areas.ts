import type Router from '@koa/router';
import type { AdminGuards, AdminRouteDeps } from './admin-routes.ts';
import { registerUsersRoutes } from './admin-users-routes.ts';
import { registerApplicationsRoutes } from './admin-applications-routes.ts';
import { registerAdminAuditRoutes } from './admin-audit-routes.ts';
import { registerAuthorizationsRoutes } from './admin-authorizations-routes.ts';

/** The areas of the admin console, in the order of its navigation. Each registers its routes on the one /admin router. */
export const ADMIN_AREAS: ((router: Router, deps: AdminRouteDeps, guards: AdminGuards) => void)[] = [
  registerUsersRoutes,
  registerApplicationsRoutes,
  registerAuthorizationsRoutes,
  registerAdminAuditRoutes,
];
