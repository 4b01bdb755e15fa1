import { createSecretKey, type KeyObject } from 'node:crypto';
import type { Config } from './config/schema.ts';
import { ConfigError } from './config/load-config.ts';
import { openStores, type Stores } from './storage/open-stores.ts';
import { resolveSecretKey } from './crypto/resolve-secret-key.ts';
import { deriveKey } from './crypto/secret-box.ts';
import { createKeyringService, type KeyringService } from './keys/keyring.ts';
import { buildPermissionCatalog, type PermissionCatalog } from './permissions/catalog.ts';
import { createAuditLog, type AuditLog } from './audit/audit-log.ts';
import type { AccountDeps } from './accounts/create-account.ts';
import type { ApplicationDeps } from './applications/create-application.ts';
import type { SecretHashKey } from './applications/client-secret.ts';
import { createRevocationPublisher, type RevocationPublisher } from './revocation/revocation-events.ts';

export interface Services {
  config: Config;
  stores: Stores;
  catalog: PermissionCatalog;
  audit: AuditLog;
  keyrings: KeyringService;
  secretHashKey: SecretHashKey;
  /** Seals TOTP secrets; keys recovery-code hashes. Both derived from SECRET_KEY. */
  totpKey: Buffer;
  recoveryKey: Buffer;
  /** Keys the hashes under which oidc-provider artifacts (tokens, codes, sessions) are stored. */
  artifactIdKey: KeyObject;
  /** Seals a new API key for the one page that shows it (src/http/one-time-secret-cookie.ts). */
  oneTimeSecretKey: Buffer;
  revocations: RevocationPublisher;
  accountDeps: AccountDeps;
  applicationDeps: ApplicationDeps;
}

/** Opens the stores and builds the domain services: what the server and the CLI share. */
export async function buildServices(config: Config): Promise<Services> {
  // The catalog is checked before anything is opened: a bad config/ never touches a store.
  const catalog = buildPermissionCatalog(config.scopes, config.roles);
  for (const scope of config.mfa.requiredForScopes) {
    if (!catalog.apiScopes.includes(scope)) {
      throw new ConfigError('config mfa.requiredForScopes', `"${scope}" is not an API scope of config/scopes.json`);
    }
  }
  for (const scope of config.permissions.sensitiveScopes) {
    if (!catalog.apiScopes.includes(scope)) {
      throw new ConfigError('config permissions.sensitiveScopes', `"${scope}" is not an API scope of config/scopes.json`);
    }
  }
  const secretKey = resolveSecretKey(config.secretKey, config.dataDir);
  const stores = await openStores(config);
  const audit = createAuditLog(stores.durable.audit);
  // A KeyObject, made once (client-secret.ts SecretHashKey).
  const secretHashKey = createSecretKey(deriveKey(secretKey, 'client-secret'));
  const revocations = createRevocationPublisher(stores.durable.revocations, stores.redis, config.redisKeyPrefix);
  const accountDeps: AccountDeps = {
    accounts: stores.durable.accounts, audit, catalog, passwordMinLength: config.passwords.minLength, revocations,
  };
  return {
    config,
    stores,
    catalog,
    audit,
    keyrings: createKeyringService(stores.durable.keyrings, secretKey),
    secretHashKey,
    totpKey: deriveKey(secretKey, 'totp-secret'),
    recoveryKey: deriveKey(secretKey, 'recovery-code'),
    // A KeyObject, made once: with a Buffer key each createHmac costs about five times as much (Node 24).
    artifactIdKey: createSecretKey(deriveKey(secretKey, 'artifact-id')),
    oneTimeSecretKey: deriveKey(secretKey, 'one-time-secret-cookie'),
    revocations,
    accountDeps,
    applicationDeps: {
      applications: stores.durable.applications,
      accounts: stores.durable.accounts,
      audit,
      catalog,
      secretHashKey,
      secretLifetimeSeconds: config.clients.secretLifetimeSeconds,
      commandLineSecretLifetimeSeconds: config.clients.commandLineSecretLifetimeSeconds,
      maxSecretLifetimeSeconds: config.clients.maxSecretLifetimeSeconds,
      revocations,
      sensitiveScopes: config.permissions.sensitiveScopes,
      tokenRateLimits: { counters: stores.sharedCounters, defaults: config.rateLimits.tokenPerMinute },
      // The stores the provider's adapter keeps grants in (src/server.ts adapterStores), so that the
      // CLI's `clients revoke` revokes grants exactly as the server does.
      grants: {
        shortLived: stores.shortLived, durable: stores.durable.artifacts, authorizations: stores.durable.authorizations,
        onGrantRevoked: (grantId) => revocations.revoke('grant', grantId),
      },
    },
  };
}
