import { z } from 'zod';

const seconds = z.number().int().positive();
const localized = z.object({ en: z.string().min(1), 'zh-CN': z.string().min(1) }).strict();

// The shape of config/default.json (and config/<NODE_ENV>.json, which overrides it).
export const settingsSchema = z
  .object({
    port: z.number().int().min(1).max(65535),
    dataDir: z.string().min(1),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    mailFrom: z.string().min(3),
    trustProxy: z.boolean(),
    // Lets several deployments share one Redis.
    redisKeyPrefix: z.string().min(1).max(64),
    api: z.object({ audience: z.string().min(1), accessTokenTtlSeconds: seconds }).strict(),
    ttl: z
      .object({
        authorizationCodeSeconds: seconds,
        idTokenSeconds: seconds,
        interactionSeconds: seconds,
        // Idle lifetime: each use of the session extends it up to this much.
        sessionSeconds: seconds,
        // Absolute lifetime from sign-in, however often the session is used (ASVS 5 7.3.2).
        sessionAbsoluteSeconds: seconds,
        refreshTokenSeconds: seconds,
        grantSeconds: seconds,
      })
      .strict(),
    clients: z
      .object({
        // Keys made on /developers: 90 days by default, so that a forgotten key does not live for ever.
        secretLifetimeSeconds: seconds,
        // Keys made by `clients create` / `rotate-secret` without --expires-in. 0: no expiry of its
        // own (Keycloak's and Auth0's default), so the maximum below, when set, is their lifetime.
        commandLineSecretLifetimeSeconds: z.number().int().min(0),
        // No key lives longer, whoever makes it (an --expires-in above it is refused). 0: no maximum.
        maxSecretLifetimeSeconds: z.number().int().min(0),
        defaultRotationGraceSeconds: z.number().int().min(0),
        // Record each key's last use (in memory, written once a minute); env TRACK_SECRET_LAST_USE.
        trackLastUse: z.boolean(),
        // Run the expiry-warning mail job (14 and 1 days before) hourly on this instance.
        notifyExpiringSecrets: z.boolean(),
      })
      .strict()
      // A default above the maximum would be cut short on every key without anyone having said so.
      .refine((c) => c.maxSecretLifetimeSeconds === 0
        || (c.secretLifetimeSeconds <= c.maxSecretLifetimeSeconds && c.commandLineSecretLifetimeSeconds <= c.maxSecretLifetimeSeconds),
      { message: 'secretLifetimeSeconds and commandLineSecretLifetimeSeconds must not exceed maxSecretLifetimeSeconds' }),
    // API permissions whose request always needs the second factor (e.g. ["calls:read"]).
    mfa: z.object({ requiredForScopes: z.array(z.string()) }).strict(),
    // API permissions that, asked for on /developers, wait for an administrator's approval
    // (`clients approve-scopes`) before tokens carry them; PRODUCT.md "Sensitive permissions".
    permissions: z.object({ sensitiveScopes: z.array(z.string()) }).strict(),
    // NIST SP 800-63B: at least 8; the registration form recommends 15 or more.
    passwords: z.object({ minLength: z.number().int().min(8).max(64) }).strict(),
    // Failed sign-ins counted per account and per client IP within the window; past the limit the
    // key is blocked for blockSeconds (10 per 15 min keeps an account under 100 failures an hour).
    loginThrottle: z
      .object({
        failuresPerAccount: z.number().int().min(1).max(100),
        failuresPerIp: z.number().int().min(1),
        windowSeconds: seconds,
        blockSeconds: seconds,
      })
      .strict(),
    // node:cluster workers per instance (env WORKERS): "auto" is the CPU count with NODE_ENV=production,
    // else 1; 1 serves from the one process, without a primary (src/cluster/).
    workers: z.union([z.literal('auto'), z.number().int().min(1).max(256)]),
    shutdownGraceSeconds: seconds,
    // Slow clients are cut off (408) when their headers, or their whole request, take longer than this.
    http: z.object({ headersTimeoutMs: z.number().int().min(100), requestTimeoutMs: z.number().int().min(100) }).strict(),
    // Signing-key rotation (`keys rotate`, src/keys): a new key is in the JWKS this long before it
    // signs, longer than resource servers cache the JWKS (env KEY_PUBLISH_DELAY_SECONDS); each
    // instance reads the keyring's version this often (env KEYRING_POLL_SECONDS), which must be
    // well under the delay.
    keys: z.object({ publishDelaySeconds: z.number().int().min(0), pollIntervalSeconds: z.number().positive().max(60) }).strict(),
    // /metrics (Prometheus text format): on a port of its own when set (env METRICS_PORT), then not on
    // the main port; null: on the main port, to loopback only unless METRICS_TOKEN is set.
    metrics: z.object({ port: z.number().int().min(1).max(65535).nullable() }).strict(),
    // Token requests per client per minute (a fixed window on the clock minute), by application
    // type; `clients set-rate-limit` overrides it per application. 0: no limit.
    rateLimits: z.object({
      tokenPerMinute: z.object({ service: z.number().int().min(0), web: z.number().int().min(0), native: z.number().int().min(0) }).strict(),
    }).strict(),
    // A refresh token already rotated still gets a fresh pair this long after its first use (a
    // response lost in flight), instead of counting as reuse (RFC 9700 §4.14.2). 0: off.
    refreshTokens: z.object({ reuseIntervalSeconds: z.number().int().min(0).max(300) }).strict(),
  })
  .strict();

export const scopeCatalogSchema = z
  .object({
    oidc: z.record(z.string(), localized),
    api: z.record(z.string().regex(/^[a-z][a-z0-9_.-]*:[a-z][a-z0-9_.-]*$/, 'API scopes look like "resource:action"'), localized),
  })
  .strict();

export const roleCatalogSchema = z
  .object({
    defaultRole: z.string().min(1),
    roles: z.record(
      z.string().regex(/^[a-z][a-z0-9_-]*$/),
      z
        .object({
          // How the role is named to people, in both languages (the role's id otherwise).
          label: localized.optional(),
          inherits: z.array(z.string()).optional(),
          // "*" stands for every API scope of the catalog.
          scopes: z.array(z.string()),
          // The admin console (/admin): true for every page and action, "read" for the ledger and
          // authorizations only. A console role must also require two-factor sign-in.
          adminConsole: z.union([z.boolean(), z.literal('read')]).optional(),
          requiresMfa: z.boolean().optional(),
        })
        .strict(),
    ),
  })
  .strict();

export type Settings = z.infer<typeof settingsSchema>;
export type ScopeCatalog = z.infer<typeof scopeCatalogSchema>;
export type RoleCatalog = z.infer<typeof roleCatalogSchema>;

export type Config = Settings & {
  nodeEnv: 'development' | 'production' | 'test';
  issuer: string;
  mongodbUri: string | undefined;
  redisUrl: string | undefined;
  smtpUrl: string | undefined;
  /** MAIL_OUTBOX: the file outbox (no SMTP) chosen on purpose, which production otherwise refuses. */
  mailOutbox: boolean;
  secretKey: string | undefined;
  /** How many processes serve requests: "auto" and WORKERS resolved (src/config/worker-count.ts). */
  workers: number;
  /** METRICS_TOKEN: /metrics asks for `Authorization: Bearer <it>` (env only: a secret has no place in config/). */
  metricsToken: string | undefined;
  scopes: ScopeCatalog;
  roles: RoleCatalog;
};
