import { ownerScopeCeiling } from './permissions/obtainable-scopes.ts';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { Config } from './config/schema.ts';
import type { Logger } from './shared/logger.ts';
import { buildServices, type Services } from './services.ts';
import { closeConnections } from './storage/open-stores.ts';
import { join } from 'node:path';
import { createProvider } from './oidc/create-provider.ts';
import { cacheClients } from './oidc/client-cache.ts';
import { replaceSigningKeys } from './oidc/provider-signing-keys.ts';
import { createUserinfoAccessTokenFinder } from './oidc/userinfo-access-token.ts';
import { watchKeyring } from './keys/watch-keyring.ts';
import { retiredKeyRetentionSeconds } from './keys/key-timeline.ts';
import { ACCOUNT_CLIENT_ID } from './oidc/constants.ts';
import { createAccountSessions } from './oidc/account-sessions.ts';
import type { AdapterStores } from './oidc/adapter.ts';
import { createAccountLinks, type AccountFlowDeps } from './accounts/account-flows.ts';
import { createLoginThrottle } from './accounts/login-throttle.ts';
import { createOnceMarker } from './shared/failure-limiter.ts';
import { createMailer } from './mail/mailer.ts';
import { createMailQueue } from './mail/mail-queue.ts';
import { createAccountMail } from './mail/account-mail.ts';
import type { SecondFactorDeps } from './mfa/second-factor.ts';
import { createMfaLimits } from './mfa/mfa-limits.ts';
import { createRenderer } from './http/render.ts';
import type { Readiness } from './http/ops-routes.ts';
import { createApp } from './app.ts';
import { trackConnections } from './http/graceful-close.ts';
import { createSecretUseTracker, LAST_USE_FLUSH_INTERVAL_MS } from './applications/secret-use-tracker.ts';
import { trackGrantUse } from './oidc/authorization-index.ts';
import { createTokenIssuanceLedger } from './audit/token-issuance.ts';
import { startInstanceJobs } from './instance-jobs.ts';
import cluster from 'node:cluster';
import { installProcessMetrics, collectInstanceMetrics } from './metrics/instance-metrics.ts';
import { countTokensIssued } from './metrics/provider-metrics.ts';
import { metricsAccess } from './metrics/metrics-access.ts';
import { startMetricsServer } from './metrics/metrics-endpoint.ts';

export interface RunningServer {
  url: string;
  server: Server;
  services: Services;
  /**
   * Graceful stop: readiness fails, new connections are refused, in-flight requests finish, queued
   * mail goes out, stores close.
   */
  stop(): Promise<void>;
  /** Writes what is counted in memory now: last use of API keys, tokens issued by client credentials. */
  flushLastUse(): Promise<void>;
}

export interface ServerOptions {
  host?: string;
  /**
   * Whether this process runs the once-per-instance jobs (src/instance-jobs.ts): yes alone (the
   * default), no as a cluster worker, whose primary runs them (src/cluster/primary.ts).
   */
  runsInstanceJobs?: boolean;
}

export async function startServer(config: Config, logger: Logger, options: ServerOptions = {}): Promise<RunningServer> {
  installProcessMetrics();
  const services = await buildServices(config);
  const { stores } = services;
  try {
    // Signing keys follow `keys rotate` without a restart; the cookie keys stay those read now.
    const keys = await watchKeyring({ keyrings: services.keyrings, pollIntervalMs: config.keys.pollIntervalSeconds * 1000,
      retentionMs: retiredKeyRetentionSeconds(config) * 1000,
      onError: (error) => logger.warn({ err: error }, 'signing keys not updated; the ones in use stay until the next round') });
    const renderer = createRenderer();
    const mailQueue = createMailQueue(
      createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, outboxDir: join(config.dataDir, 'outbox'), logger }), logger);
    const adapterStores: AdapterStores = {
      // Where grants and their tokens live, and who is told of a revoked grant: as the CLI has them.
      ...services.applicationDeps.grants,
      applications: stores.durable.applications,
      oidcScopes: services.catalog.oidcScopes, artifactIdKey: services.artifactIdKey,
      ownerScopes: async (ownerId) => ownerScopeCeiling(services.catalog, await stores.durable.accounts.findAccountById(ownerId)),
      refreshTokenReuse: { intervalSeconds: config.refreshTokens.reuseIntervalSeconds },
      userinfoAccessToken: createUserinfoAccessTokenFinder({ issuer: config.issuer, audience: config.api.audience,
        publishedKeys: () => keys.published.keys }),
    };
    const failureCounters = { redis: stores.redis, store: stores.failureCounters, keyPrefix: config.redisKeyPrefix };
    // One throttle for every password check: the sign-in and the signed-in pages' current password.
    const throttle = createLoginThrottle(config.loginThrottle, failureCounters);
    // One count of wrong codes per account: the sign-in's code page and the account pages' code checks.
    const mfaLimits = createMfaLimits(config.loginThrottle, failureCounters);
    const flows: AccountFlowDeps = {
      ...services.accountDeps,
      throttle,
      tokens: stores.durable.artifacts,
      mail: createAccountMail(mailQueue, renderer),
      sessions: createAccountSessions(adapterStores, [ACCOUNT_CLIENT_ID]),
      links: createAccountLinks(config.issuer),
    };
    const secondFactor: SecondFactorDeps = {
      throttle, mfa: stores.durable.mfa, audit: services.audit, mail: flows.mail, links: flows.links, catalog: services.catalog,
      totpKey: services.totpKey, recoveryKey: services.recoveryKey, scopesRequiringMfa: config.mfa.requiredForScopes, mfaLimits,
    };
    const secretUse = config.clients.trackLastUse ? createSecretUseTracker(stores.durable.applications) : undefined;
    const provider = createProvider({
      config, catalog: services.catalog, signingKeys: keys.published.keys, cookieKeys: keys.cookieKeys,
      renderer, adapterStores, accounts: stores.durable.accounts,
      applications: stores.durable.applications, audit: services.audit,
      secretHashKey: services.secretHashKey, secretUse, secondFactor, revocations: services.revocations,
      tokenRate: services.applicationDeps,
    });
    provider.on('server_error', (_ctx: unknown, error: Error) => logger.error({ err: error }, 'provider server_error'));
    const clientCache = cacheClients(provider, stores.clientChanges);
    keys.start((published) => {
      replaceSigningKeys(provider, published.keys);
      logger.info({ signingKids: published.signingKids, publishedKids: published.keys.map((k) => k.kid) }, 'signing keys changed');
    });
    const grantUse = trackGrantUse(provider, stores.durable.authorizations);
    countTokensIssued(provider);
    // JWT access tokens are `issued`, opaque ones `saved`: either way one count.
    const tokenIssuance = createTokenIssuanceLedger(services.audit);
    provider.on('client_credentials.issued', (token) => tokenIssuance.noteIssued(token));
    provider.on('client_credentials.saved', (token) => tokenIssuance.noteIssued(token));
    const readiness: Readiness = { isAcceptingTraffic: true };
    const app = createApp({
      provider, renderer, logger, readiness, connections: stores.connections, cookieKeys: keys.cookieKeys,
      trustProxy: config.trustProxy, accounts: stores.durable.accounts, audit: services.audit, catalog: services.catalog,
      throttle,
      flows, issuer: config.issuer, secondFactor, grants: flows.sessions, revocations: services.revocations,
      revocationRoutes: { applications: stores.durable.applications, revocations: stores.durable.revocations,
        secretHashKey: services.secretHashKey, renderer },
      mfaLimits, oneTimeSecretKey: services.oneTimeSecretKey, sentForms: createOnceMarker('form-sent', failureCounters),
      applicationDeps: services.applicationDeps, ledger: stores.durable.audit, authorizations: stores.durable.authorizations,
      metricsAccess: config.metrics.port === null ? metricsAccess(config) : undefined,
    });

    // Slow or oversized requests are cut off early (Hydra uses a 5 s read-header timeout): 408 after
    // the timeouts, checked every second (Node checks every 30 s by default, which would let a slow
    // client hold a connection four times longer than configured); headers over 16 KiB get 431.
    const server = createServer({ connectionsCheckingInterval: Math.min(1000, config.http.headersTimeoutMs) }, app.callback());
    server.headersTimeout = config.http.headersTimeoutMs;
    server.requestTimeout = config.http.requestTimeoutMs;
    server.keepAliveTimeout = 5_000;
    const stopServing = trackConnections(server);
    server.listen(config.port, options.host);
    await once(server, 'listening');
    // METRICS_PORT: served here in a single process; in a cluster the primary serves it (installMetricsAggregator).
    const metricsServer = config.metrics.port !== null && !cluster.isWorker
      ? await startMetricsServer({ port: config.metrics.port, host: options.host, access: metricsAccess(config),
        collect: collectInstanceMetrics, logger })
      : undefined;

    const instanceJobs = options.runsInstanceJobs === false ? undefined : startInstanceJobs({ config, logger, sqlite: stores.sqlite,
      applications: stores.durable.applications, accounts: stores.durable.accounts, mail: flows.mail });

    // What is counted in memory reaches the store once a minute, at shutdown and on demand (`all`:
    // the current minute too). Each count is kept for the next flush when its write fails.
    const counted: [string, (all: boolean) => Promise<void> | undefined][] = [
      ['last use of client secrets', () => secretUse?.flush()],
      ['last use of authorizations', () => grantUse.flush()],
      ['token issuance', (all) => tokenIssuance.flush(all)],
    ];
    const flushCounted = async (all: boolean, onError: (what: string, error: unknown) => void) => {
      for (const [what, flush] of counted) await flush(all)?.catch((error: unknown) => onError(what, error));
    };
    const flushCounts = (all = false) =>
      flushCounted(all, (what, error) => logger.warn({ err: error }, `${what} not written; retried next minute`));
    const lastUseFlush = setInterval(() => void flushCounts(), LAST_USE_FLUSH_INTERVAL_MS).unref();

    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        readiness.isAcceptingTraffic = false;
        const graceEnds = Date.now() + config.shutdownGraceSeconds * 1000;
        instanceJobs?.stop();
        clearInterval(lastUseFlush);
        keys.stop();
        metricsServer?.close();
        metricsServer?.closeAllConnections();
        await stopServing(config.shutdownGraceSeconds * 1000);
        // The last requests' mail still goes out, within what is left of the same grace period (at
        // least a second); the queue logs what it could not deliver.
        await flushCounts(true);
        await mailQueue.drain(Math.max(1000, graceEnds - Date.now()));
        clientCache.close();
        await closeConnections(stores.connections);
      })();
      return stopping;
    };
    return { url: `http://127.0.0.1:${port}`, server, services, stop,
      flushLastUse: () => flushCounted(true, (_what, error) => { throw error; }) };
  } catch (error) {
    await closeConnections(stores.connections);
    throw error;
  }
}
