import { ownerScopeCeiling } from './permissions/obtainable-scopes.ts';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { Config } from './config/schema.ts';
import type { Logger } from './shared/logger.ts';
import { buildServices, type Services } from './services.ts';
import { closeConnections } from './storage/open-stores.ts';
import { deleteExpiredSqliteArtifacts } from './storage/sqlite/sqlite-artifacts.ts';
import { deleteExpiredSqliteAuthorizations } from './storage/sqlite/sqlite-authorizations.ts';
import { deleteOldSqliteRevocations } from './storage/sqlite/sqlite-revocations.ts';
import { deleteExpiredSqliteFailureCounts } from './storage/sqlite/sqlite-failure-counters.ts';
import { isSqliteUnavailable } from './storage/store-unavailable.ts';
import { join } from 'node:path';
import { createProvider } from './oidc/create-provider.ts';
import { ACCOUNT_CLIENT_ID } from './oidc/constants.ts';
import { createAccountSessions } from './oidc/account-sessions.ts';
import type { AdapterStores } from './oidc/adapter.ts';
import { createAccountLinks, type AccountFlowDeps } from './accounts/account-flows.ts';
import { createLoginThrottle } from './accounts/login-throttle.ts';
import { createMailer } from './mail/mailer.ts';
import { createMailQueue } from './mail/mail-queue.ts';
import { createAccountMail } from './mail/account-mail.ts';
import type { SecondFactorDeps } from './mfa/second-factor.ts';
import { createMfaLimits } from './mfa/mfa-limits.ts';
import { createRenderer } from './http/render.ts';
import type { Readiness } from './http/ops-routes.ts';
import { createApp } from './app.ts';
import { createSecretUseTracker, LAST_USE_FLUSH_INTERVAL_MS } from './applications/secret-use-tracker.ts';
import { trackGrantUse } from './oidc/authorization-index.ts';
import { createTokenIssuanceLedger } from './audit/token-issuance.ts';
import { notifyExpiringSecrets } from './applications/notify-expiring-secrets.ts';

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

const CLEANUP_INTERVAL_MS = 10 * 60_000;
/** The expiry-warning job runs hourly on every instance; its compare-and-set keeps each mail single. */
const EXPIRY_NOTICE_INTERVAL_MS = 60 * 60_000;

export async function startServer(config: Config, logger: Logger, options: { host?: string } = {}): Promise<RunningServer> {
  const services = await buildServices(config);
  const { stores } = services;
  try {
    const keyring = await services.keyrings.load();
    const renderer = createRenderer();
    const mailQueue = createMailQueue(
      createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, outboxDir: join(config.dataDir, 'outbox'), logger }), logger);
    const adapterStores: AdapterStores = {
      shortLived: stores.shortLived, durable: stores.durable.artifacts, authorizations: stores.durable.authorizations,
      applications: stores.durable.applications,
      oidcScopes: services.catalog.oidcScopes, artifactIdKey: services.artifactIdKey,
      onGrantRevoked: (grantId) => services.revocations.revoke('grant', grantId),
      ownerScopes: async (ownerId) => ownerScopeCeiling(services.catalog, await stores.durable.accounts.findAccountById(ownerId)),
    };
    const flows: AccountFlowDeps = {
      ...services.accountDeps,
      tokens: stores.durable.artifacts,
      mail: createAccountMail(mailQueue, renderer),
      sessions: createAccountSessions(adapterStores, [ACCOUNT_CLIENT_ID]),
      links: createAccountLinks(config.issuer),
    };
    const secondFactor: SecondFactorDeps = {
      mfa: stores.durable.mfa, audit: services.audit, mail: flows.mail, links: flows.links, catalog: services.catalog,
      totpKey: services.totpKey, recoveryKey: services.recoveryKey, scopesRequiringMfa: config.mfa.requiredForScopes,
    };
    const secretUse = config.clients.trackLastUse ? createSecretUseTracker(stores.durable.applications) : undefined;
    const provider = createProvider({
      config, catalog: services.catalog, keyring, renderer, adapterStores, accounts: stores.durable.accounts,
      applications: stores.durable.applications, audit: services.audit,
      secretHashKey: services.secretHashKey, secretUse, secondFactor, revocations: services.revocations,
    });
    provider.on('server_error', (_ctx: unknown, error: Error) => logger.error({ err: error }, 'provider server_error'));
    const grantUse = trackGrantUse(provider, stores.durable.authorizations);
    // JWT access tokens are `issued`, opaque ones `saved`: either way one count.
    const tokenIssuance = createTokenIssuanceLedger(services.audit);
    provider.on('client_credentials.issued', (token) => tokenIssuance.noteIssued(token));
    provider.on('client_credentials.saved', (token) => tokenIssuance.noteIssued(token));
    const readiness: Readiness = { isAcceptingTraffic: true };
    const failureCounters = { redis: stores.redis, store: stores.failureCounters, keyPrefix: config.redisKeyPrefix };
    const app = createApp({
      provider, renderer, logger, readiness, connections: stores.connections, cookieKeys: keyring.cookie,
      trustProxy: config.trustProxy, accounts: stores.durable.accounts, audit: services.audit, catalog: services.catalog,
      throttle: createLoginThrottle(config.loginThrottle, failureCounters),
      flows, issuer: config.issuer, secondFactor, grants: flows.sessions, revocations: services.revocations,
      revocationRoutes: { applications: stores.durable.applications, revocations: stores.durable.revocations,
        secretHashKey: services.secretHashKey, renderer },
      mfaLimits: createMfaLimits(config.loginThrottle, failureCounters),
      applicationDeps: services.applicationDeps, ledger: stores.durable.audit, authorizations: stores.durable.authorizations,
    });

    const server = createServer(app.callback());
    // Slow or oversized requests are cut off early (Hydra uses a 5 s read-header timeout).
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    server.keepAliveTimeout = 5_000;
    server.listen(config.port, options.host);
    await once(server, 'listening');

    const cleanup = stores.sqlite
      ? setInterval(() => {
        try {
          deleteExpiredSqliteArtifacts(stores.sqlite!);
          deleteExpiredSqliteAuthorizations(stores.sqlite!);
          deleteOldSqliteRevocations(stores.sqlite!, new Date(Date.now() - 86_400_000));
          deleteExpiredSqliteFailureCounts(stores.sqlite!);
        } catch (error) {
          // Another process held the write lock (writes do not wait inside SQLite): the next round catches up.
          if (!isSqliteUnavailable(error)) throw error;
          logger.warn({ err: error }, 'SQLite cleanup skipped: the file is locked');
        }
      }, CLEANUP_INTERVAL_MS).unref()
      : undefined;

    // What is counted in memory reaches the store once a minute and at shutdown (`all`: the current minute too).
    const flushCounts = async (all = false) => {
      await secretUse?.flush().catch((error: unknown) => logger.warn({ err: error }, 'last use of client secrets not written; retried next minute'));
      await grantUse.flush().catch((error: unknown) => logger.warn({ err: error }, 'last use of authorizations not written; retried next minute'));
      await tokenIssuance.flush(all).catch((error: unknown) => logger.warn({ err: error }, 'token issuance not recorded; retried next minute'));
    };
    const lastUseFlush = setInterval(() => void flushCounts(), LAST_USE_FLUSH_INTERVAL_MS).unref();
    const expiryNotices = config.clients.notifyExpiringSecrets
      ? setInterval(() => {
        notifyExpiringSecrets({ applications: stores.durable.applications, accounts: stores.durable.accounts, mail: flows.mail,
          developersUrl: `${config.issuer}/developers` })
          .catch((error: unknown) => logger.warn({ err: error }, 'expiring API key notices failed; retried next hour'));
      }, EXPIRY_NOTICE_INTERVAL_MS).unref()
      : undefined;

    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        readiness.isAcceptingTraffic = false;
        const graceEnds = Date.now() + config.shutdownGraceSeconds * 1000;
        clearInterval(cleanup);
        clearInterval(lastUseFlush);
        clearInterval(expiryNotices);
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const deadline = setTimeout(() => server.closeAllConnections(), config.shutdownGraceSeconds * 1000).unref();
        // Connections that finish their in-flight request become idle: close them as they do.
        const idleSweep = setInterval(() => server.closeIdleConnections(), 100).unref();
        await closed;
        clearTimeout(deadline);
        clearInterval(idleSweep);
        // The last requests' mail still goes out, within what is left of the same grace period (at
        // least a second); the queue logs what it could not deliver.
        await flushCounts(true);
        await mailQueue.drain(Math.max(1000, graceEnds - Date.now()));
        await closeConnections(stores.connections);
      })();
      return stopping;
    };
    return { url: `http://127.0.0.1:${port}`, server, services, stop,
      flushLastUse: async () => {
        await secretUse?.flush();
        await grantUse.flush();
        await tokenIssuance.flush(true);
      } };
  } catch (error) {
    await closeConnections(stores.connections);
    throw error;
  }
}
