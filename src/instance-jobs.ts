import type { DatabaseSync } from 'node:sqlite';
import type { Config } from './config/schema.ts';
import type { Logger } from './shared/logger.ts';
import type { AccountStore, ApplicationStore } from './storage/contract.ts';
import type { AccountMail } from './mail/account-mail.ts';
import { deleteExpiredSqliteArtifacts } from './storage/sqlite/sqlite-artifacts.ts';
import { deleteExpiredSqliteAuthorizations } from './storage/sqlite/sqlite-authorizations.ts';
import { deleteOldSqliteRevocations } from './storage/sqlite/sqlite-revocations.ts';
import { deleteExpiredSqliteFailureCounts } from './storage/sqlite/sqlite-failure-counters.ts';
import { isSqliteUnavailable } from './storage/store-unavailable.ts';
import { notifyExpiringSecrets } from './applications/notify-expiring-secrets.ts';

// The jobs an instance runs once, whatever its number of workers: in the one process when
// WORKERS=1 (src/server.ts), else in the cluster primary (src/cluster/primary-jobs.ts). What each
// worker counts in memory (last use of keys and grants, tokens issued) it writes itself (server.ts).

const SQLITE_SWEEP_INTERVAL_MS = 10 * 60_000;
/** Hourly; the store's compare-and-set keeps each mail single even when several instances run it. */
const EXPIRY_NOTICE_INTERVAL_MS = 60 * 60_000;
/**
 * And once shortly after start: a restarted instance would otherwise wait an hour before sending a
 * notice that became due while it was down (or never, if it restarts more often than hourly).
 */
const EXPIRY_NOTICE_FIRST_RUN_MS = 1000;
/** Revocation events are read by resource servers that poll; a day is far beyond any poll interval. */
const REVOCATION_EVENTS_KEPT_MS = 86_400_000;

export interface InstanceJobDeps {
  config: Pick<Config, 'issuer' | 'clients'>;
  logger: Logger;
  /** Embedded mode: the file whose expired rows nobody else deletes (Redis and MongoDB expire their own). */
  sqlite: DatabaseSync | undefined;
  applications: ApplicationStore;
  accounts: AccountStore;
  mail: AccountMail;
}

export interface InstanceJobs {
  stop(): void;
}

/** Deletes expired artifacts, grants, failure counts and old revocation events from the SQLite file. */
export function sweepSqlite(db: DatabaseSync, logger: Logger): void {
  try {
    const deleted = {
      artifacts: deleteExpiredSqliteArtifacts(db),
      authorizations: deleteExpiredSqliteAuthorizations(db),
      failureCounts: deleteExpiredSqliteFailureCounts(db),
    };
    deleteOldSqliteRevocations(db, new Date(Date.now() - REVOCATION_EVENTS_KEPT_MS));
    logger.debug({ deleted }, 'SQLite sweep: expired rows deleted');
  } catch (error) {
    // Another process held the write lock (writes do not wait inside SQLite): the next round catches up.
    if (!isSqliteUnavailable(error)) throw error;
    logger.warn({ err: error }, 'SQLite cleanup skipped: the file is locked');
  }
}

/** Starts the SQLite sweep (at once, then every 10 min) and the key-expiry notices (a second after start, then hourly). */
export function startInstanceJobs(deps: InstanceJobDeps): InstanceJobs {
  const { config, logger, sqlite } = deps;
  // At start too: after a long stop the file would otherwise carry its expired rows for 10 more minutes.
  if (sqlite) sweepSqlite(sqlite, logger);
  const sweep = sqlite ? setInterval(() => sweepSqlite(sqlite, logger), SQLITE_SWEEP_INTERVAL_MS).unref() : undefined;
  const sendExpiryNotices = () => {
    notifyExpiringSecrets({ applications: deps.applications, accounts: deps.accounts, mail: deps.mail,
      developersUrl: `${config.issuer}/developers` })
      .catch((error: unknown) => logger.warn({ err: error }, 'expiring API key notices failed; retried next hour'));
  };
  const isNotifying = config.clients.notifyExpiringSecrets;
  const firstNotices = isNotifying ? setTimeout(sendExpiryNotices, EXPIRY_NOTICE_FIRST_RUN_MS).unref() : undefined;
  const expiryNotices = isNotifying ? setInterval(sendExpiryNotices, EXPIRY_NOTICE_INTERVAL_MS).unref() : undefined;
  return {
    stop() {
      clearInterval(sweep);
      clearTimeout(firstNotices);
      clearInterval(expiryNotices);
    },
  };
}
