import { ConfigError, loadConfig } from './load-config.ts';
import type { RoleCatalog, ScopeCatalog } from './schema.ts';
import { exampleApiCredentialsFile, readExampleApiCredentials } from '../resource-server/example-api-credentials.ts';

export interface ImApiConfig {
  scopes: ScopeCatalog;
  roles: RoleCatalog;
  port: number;
  issuer: string;
  audience: string;
  /** TRUST_PROXY: the URL a DPoP proof names is the one the proxy received (X-Forwarded-Proto/Host). */
  trustProxy: boolean;
  /** Redis mode: revocations by pub/sub, and DPoP proofs remembered across instances. */
  redis: { url: string; channel: string; keyPrefix: string } | undefined;
  poll: { url: string; clientId: string; clientSecret: string; source: string } | undefined;
}

type Env = Record<string, string | undefined>;

/**
 * The example API's settings: ISSUER (the authorization server, default http://localhost:3000),
 * PORT (default 4000), and for instant revocation REDIS_URL (the server's Redis) and/or resource-
 * server credentials to poll with: REVOCATIONS_CLIENT_ID + REVOCATIONS_CLIENT_SECRET, else those
 * `tokenim-auth example-api credentials` wrote to DATA_DIR (default ./data, the server's).
 */
export function loadImApiConfig(env: Env = process.env): ImApiConfig {
  const port = env.PORT?.trim() || '4000';
  const issuer = env.ISSUER?.trim() || 'http://localhost:3000';
  // The shared loader validates ISSUER, PORT, DATA_DIR and REDIS_URL and gives the audience and key prefix.
  const shared = loadConfig({ ISSUER: issuer, PORT: port, REDIS_URL: env.REDIS_URL, DATA_DIR: env.DATA_DIR, TRUST_PROXY: env.TRUST_PROXY });
  const clientId = env.REVOCATIONS_CLIENT_ID?.trim();
  const clientSecret = env.REVOCATIONS_CLIENT_SECRET?.trim();
  if (Boolean(clientId) !== Boolean(clientSecret)) {
    throw new ConfigError('REVOCATIONS_CLIENT_SECRET', 'set REVOCATIONS_CLIENT_ID and REVOCATIONS_CLIENT_SECRET together');
  }
  const saved = clientId ? undefined : readExampleApiCredentials(shared.dataDir);
  const credentials = clientId && clientSecret
    ? { clientId, clientSecret, source: 'REVOCATIONS_CLIENT_ID' }
    : saved && { clientId: saved.client_id, clientSecret: saved.client_secret, source: exampleApiCredentialsFile(shared.dataDir) };
  return {
    scopes: shared.scopes,
    roles: shared.roles,
    port: shared.port,
    issuer: shared.issuer,
    audience: shared.api.audience,
    trustProxy: shared.trustProxy,
    redis: shared.redisUrl
      ? { url: shared.redisUrl, channel: `${shared.redisKeyPrefix}revocations`, keyPrefix: `${shared.redisKeyPrefix}im-api:` }
      : undefined,
    poll: credentials ? { url: `${shared.issuer}/revocations`, ...credentials } : undefined,
  };
}
