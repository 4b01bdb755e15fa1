import { ConfigError, loadConfig } from './load-config.ts';
import type { RoleCatalog, ScopeCatalog } from './schema.ts';

export interface ImApiConfig {
  scopes: ScopeCatalog;
  roles: RoleCatalog;
  port: number;
  issuer: string;
  audience: string;
  redis: { url: string; channel: string } | undefined;
  poll: { url: string; clientId: string; clientSecret: string } | undefined;
}

type Env = Record<string, string | undefined>;

/**
 * The example API's settings: ISSUER (the authorization server, default http://localhost:3000),
 * PORT (default 4000), and for instant revocation REDIS_URL (the server's Redis) and/or
 * REVOCATIONS_CLIENT_ID + REVOCATIONS_CLIENT_SECRET (a `--resource-server` application, to poll).
 */
export function loadImApiConfig(env: Env = process.env): ImApiConfig {
  const port = env.PORT?.trim() || '4000';
  const issuer = env.ISSUER?.trim() || 'http://localhost:3000';
  // The shared loader validates ISSUER, PORT and REDIS_URL and gives the audience and key prefix.
  const shared = loadConfig({ ISSUER: issuer, PORT: port, REDIS_URL: env.REDIS_URL });
  const clientId = env.REVOCATIONS_CLIENT_ID?.trim();
  const clientSecret = env.REVOCATIONS_CLIENT_SECRET?.trim();
  if (Boolean(clientId) !== Boolean(clientSecret)) {
    throw new ConfigError('REVOCATIONS_CLIENT_SECRET', 'set REVOCATIONS_CLIENT_ID and REVOCATIONS_CLIENT_SECRET together');
  }
  return {
    scopes: shared.scopes,
    roles: shared.roles,
    port: shared.port,
    issuer: shared.issuer,
    audience: shared.api.audience,
    redis: shared.redisUrl ? { url: shared.redisUrl, channel: `${shared.redisKeyPrefix}revocations` } : undefined,
    poll: clientId && clientSecret ? { url: `${shared.issuer}/revocations`, clientId, clientSecret } : undefined,
  };
}
