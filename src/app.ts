import Koa from 'koa';
import mount from 'koa-mount';
import type Provider from 'oidc-provider';
import type { AuditStore, AuthorizationStore, StoreConnection } from './storage/contract.ts';
import type { Logger } from './shared/logger.ts';
import type { Renderer } from './http/render.ts';
import type { AccountFlowDeps } from './accounts/account-flows.ts';
import { errorHandler } from './http/koa-errors.ts';
import { requestContext } from './shared/request-context.ts';
import { providerPageSecurity, securityHeaders } from './http/koa-security-headers.ts';
import { protocolEndpoints } from './http/koa-protocol-endpoints.ts';
import { postAsGet } from './http/koa-post-as-get.ts';
import { signOutRevocations } from './http/koa-sign-out-revocations.ts';
import type { RevocationPublisher } from './revocation/revocation-events.ts';
import { createOpsRoutes, type Readiness } from './http/ops-routes.ts';
import { createInteractionRoutes, type InteractionDeps } from './http/interaction-routes.ts';
import { createContinueRoutes } from './http/continue-routes.ts';
import { createSignupRoutes } from './http/signup-routes.ts';
import { createAccountRoutes } from './http/account-routes.ts';
import { createSecurityRoutes } from './http/security-routes.ts';
import { createDeveloperRoutes } from './http/developer-routes.ts';
import { createAdminRoutes } from './http/admin-routes.ts';
import { ADMIN_AREAS } from './http/admin-areas.ts';
import type { ApplicationDeps } from './applications/create-application.ts';
import { createRevocationRoutes, type RevocationRouteDeps } from './http/revocation-routes.ts';
import { observeRequests } from './http/koa-observe-requests.ts';
import { allowedMethods } from './http/koa-allowed-methods.ts';
import { createMetricsRoutes } from './metrics/metrics-endpoint.ts';
import type { MetricsAccess } from './metrics/metrics-access.ts';
import type { OnceMarker } from './shared/failure-limiter.ts';
import { collectInstanceMetrics } from './metrics/instance-metrics.ts';

export interface AppDeps extends InteractionDeps {
  provider: Provider;
  renderer: Renderer;
  logger: Logger;
  connections: StoreConnection[];
  readiness: Readiness;
  cookieKeys: string[];
  trustProxy: boolean;
  flows: AccountFlowDeps;
  issuer: string;
  revocationRoutes: RevocationRouteDeps;
  revocations: RevocationPublisher;
  applicationDeps: ApplicationDeps;
  /** Seals a new API key for the one page that shows it (src/http/one-time-secret-cookie.ts). */
  oneTimeSecretKey: Buffer;
  /** The forms that issue a key, marked sent once (src/http/single-use-form.ts). */
  sentForms: OnceMarker;
  ledger: AuditStore;
  authorizations: AuthorizationStore;
  /** Who may read /metrics on this port; undefined when METRICS_PORT serves them elsewhere. */
  metricsAccess: MetricsAccess | undefined;
}

/** Koa composition only: middleware order, routes, the provider mounted last. No I/O here. */
export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.proxy = deps.trustProxy;
  // Must equal the provider's cookies.keys: the interaction cookies are set through this app.
  app.keys = deps.cookieKeys;
  app.silent = true;
  const provider = mount(deps.provider);
  const errors = errorHandler(deps.renderer, deps.logger);

  // Every request: its id (X-Request-Id, the ledger's requestId) first.
  app.use(requestContext(deps.trustProxy));
  app.use(observeRequests(deps.logger));
  // The protocol endpoints (token, introspection, revocation, UserInfo, JWKS, discovery, PAR): straight
  // to the provider with their few headers set statically; nothing below is theirs (every layer a
  // request passes costs it time: issue 12).
  app.use(protocolEndpoints(deps.provider, (ctx, next) => errors(ctx, () => provider(ctx, next))));
  const metricsRoutes = deps.metricsAccess ? createMetricsRoutes(deps.metricsAccess, collectInstanceMetrics, deps.logger) : undefined;
  if (metricsRoutes) app.use(metricsRoutes.routes());
  // Pages and the front channel (/auth, /session/end, interactions): helmet, errors, languages, CSRF in the routes.
  app.use(securityHeaders());
  app.use(errors);
  app.use(async (ctx, next) => {
    ctx.state.locale = deps.renderer.localeOf(ctx);
    await next();
  });
  const routers = [
    createOpsRoutes(deps.connections, deps.readiness),
    createContinueRoutes(deps),
    createInteractionRoutes(deps),
    createSignupRoutes({ flows: deps.flows, renderer: deps.renderer }),
    createRevocationRoutes(deps.revocationRoutes),
  ];
  const accountDeps = { provider: deps.provider, flows: deps.flows, catalog: deps.catalog, renderer: deps.renderer, issuer: deps.issuer,
    secondFactor: deps.secondFactor };
  // The security routes first: /account's own router would otherwise see /account/security/… too.
  routers.push(createSecurityRoutes(accountDeps), createAccountRoutes(accountDeps));
  routers.push(createDeveloperRoutes({ provider: deps.provider, applications: deps.applicationDeps, catalog: deps.catalog,
    renderer: deps.renderer, issuer: deps.issuer, secondFactor: deps.secondFactor, oneTimeSecretKey: deps.oneTimeSecretKey,
    sentForms: deps.sentForms }));
  routers.push(createAdminRoutes({ provider: deps.provider, flows: deps.flows, applications: deps.applicationDeps, catalog: deps.catalog,
    renderer: deps.renderer, issuer: deps.issuer, secondFactor: deps.secondFactor, ledger: deps.ledger,
    authorizations: deps.authorizations }, ADMIN_AREAS));
  // Every path's other methods: 405 with Allow, for our routes and the provider's alike (never 501).
  app.use(allowedMethods(metricsRoutes ? [metricsRoutes, ...routers] : routers, deps.provider));
  for (const router of routers) app.use(router.routes());
  app.use(postAsGet());
  app.use(signOutRevocations(deps.provider, deps.revocations));
  app.use(providerPageSecurity());
  app.use(provider);
  return app;
}
